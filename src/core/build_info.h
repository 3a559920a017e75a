#pragma once
// What this binary is: its version, the commit it was configured from and
// the compiler that built it (for sbpipe_build_info and bug reports).

#include <string>

namespace sbpipe {

struct BuildInfo {
  std::string version;   // SBPIPE_VERSION, e.g. "0.1.0"
  std::string commit;    // 12 hex digits of the checkout's HEAD at configure time, or "unknown"
  std::string compiler;  // e.g. "gcc 12.2.0"
};

const BuildInfo& build_info();

}  // namespace sbpipe

#pragma once
// What this binary is: its version, the commit it was configured from and
// the compiler that built it, and when (for `sbpipe version`, sbpipe_build_info
// and bug reports).

#include <string>

namespace sbpipe {

struct BuildInfo {
  std::string version;   // SBPIPE_VERSION, e.g. "0.1.0"
  std::string commit;    // 12 hex digits of the checkout's HEAD at configure time, or "unknown"
  std::string compiler;  // e.g. "gcc 12.2.0"
  std::string date;      // when CMake configured, UTC ("2026-12-06T01:19:44Z"; SOURCE_DATE_EPOCH when set), or "unknown"
  std::string platform;  // "linux/amd64", as Go tools name it
};

const BuildInfo& build_info();

}  // namespace sbpipe

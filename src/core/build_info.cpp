#include "core/build_info.h"

#ifndef SBPIPE_COMMIT
#define SBPIPE_COMMIT "unknown"
#endif

namespace sbpipe {

const BuildInfo& build_info() {
#if defined(__clang__)
  static const BuildInfo info{SBPIPE_VERSION, SBPIPE_COMMIT, "clang " __clang_version__};
#elif defined(__GNUC__)
  static const BuildInfo info{SBPIPE_VERSION, SBPIPE_COMMIT, "gcc " __VERSION__};
#else
  static const BuildInfo info{SBPIPE_VERSION, SBPIPE_COMMIT, "unknown"};
#endif
  return info;
}

}  // namespace sbpipe

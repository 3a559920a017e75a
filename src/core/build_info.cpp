#include "core/build_info.h"

#ifndef SBPIPE_COMMIT
#define SBPIPE_COMMIT "unknown"
#endif
#ifndef SBPIPE_BUILD_DATE
#define SBPIPE_BUILD_DATE "unknown"
#endif

#if defined(__x86_64__)
#define SBPIPE_ARCH "amd64"
#elif defined(__aarch64__)
#define SBPIPE_ARCH "arm64"
#else
#define SBPIPE_ARCH "unknown"
#endif

namespace sbpipe {

const BuildInfo& build_info() {
#if defined(__clang__)
  static const BuildInfo info{SBPIPE_VERSION, SBPIPE_COMMIT, "clang " __clang_version__, SBPIPE_BUILD_DATE, "linux/" SBPIPE_ARCH};
#elif defined(__GNUC__)
  static const BuildInfo info{SBPIPE_VERSION, SBPIPE_COMMIT, "gcc " __VERSION__, SBPIPE_BUILD_DATE, "linux/" SBPIPE_ARCH};
#else
  static const BuildInfo info{SBPIPE_VERSION, SBPIPE_COMMIT, "unknown", SBPIPE_BUILD_DATE, "linux/" SBPIPE_ARCH};
#endif
  return info;
}

}  // namespace sbpipe

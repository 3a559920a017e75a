add_library(sbpipe_sanitizers INTERFACE)
if(SBPIPE_SANITIZE)
  # -O1 as AddressSanitizer's documentation advises: the suite runs several times faster than at
  # -O0 (CI runs it under the sanitizers), and the reports keep their stack traces. GCC 12's
  # -Wmaybe-uninitialized misfires inside libstdc++'s <regex> and <functional> at -O1 with the
  # sanitizers' instrumentation, so that one warning is off in this build only. The reports need
  # only line tables (-g1, after the build type's -g), which cut the compile by a quarter.
  target_compile_options(sbpipe_sanitizers INTERFACE
    -O1 -g1 -Wno-maybe-uninitialized -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(sbpipe_sanitizers INTERFACE -fsanitize=address,undefined)
endif()

add_library(sbpipe_sanitizers INTERFACE)
if(SBPIPE_SANITIZE)
  target_compile_options(sbpipe_sanitizers INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(sbpipe_sanitizers INTERFACE -fsanitize=address,undefined)
endif()

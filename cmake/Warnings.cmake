# Warnings live on an INTERFACE target so every sbpipe target gets the same set;
# -Werror only where SBPIPE_WERROR is on (developer and CI builds).
add_library(sbpipe_warnings INTERFACE)
target_compile_options(sbpipe_warnings INTERFACE
  -Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wpedantic -Wno-missing-field-initializers)
if(SBPIPE_WERROR)
  target_compile_options(sbpipe_warnings INTERFACE -Werror)
endif()

# Cross-compiles sbpipe for arm64 (aarch64) Linux: Debian's cross compiler
# (g++-aarch64-linux-gnu) against a sysroot holding Debian's arm64 -dev packages,
# which scripts/setup unpacks into /opt/sbpipe/sysroot-arm64 (nothing is installed
# on the host). Programs the build runs (completions, the man page) run under
# qemu-user with the sysroot as their library root.
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64-linux-gnu.cmake
# scripts/build-image drives this; SBPIPE_SYSROOT names another sysroot.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
if(NOT SBPIPE_SYSROOT)
  if(DEFINED ENV{SBPIPE_SYSROOT})
    set(SBPIPE_SYSROOT "$ENV{SBPIPE_SYSROOT}")
  else()
    set(SBPIPE_SYSROOT /opt/sbpipe/sysroot-arm64)
  endif()
endif()
# try_compile projects read this file again; they get the sysroot through the environment.
set(ENV{SBPIPE_SYSROOT} "${SBPIPE_SYSROOT}")
set(CMAKE_SYSROOT "${SBPIPE_SYSROOT}")
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L "${SBPIPE_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH "${SBPIPE_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# pkg-config reads the sysroot's .pc files, never the host's.
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${SBPIPE_SYSROOT}")
set(ENV{PKG_CONFIG_LIBDIR} "${SBPIPE_SYSROOT}/usr/lib/aarch64-linux-gnu/pkgconfig:${SBPIPE_SYSROOT}/usr/share/pkgconfig")

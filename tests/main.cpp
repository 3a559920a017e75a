#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <stdlib.h>
#include <csignal>
#include <filesystem>

int main(int argc, char** argv) {
  // A peer closing a socket must fail a write, not kill the test binary.
  std::signal(SIGPIPE, SIG_IGN);
  // The imager model's cache for this process (tests/support/cached_imager.py), removed at the end.
  char cache[] = "/tmp/sbpipe-imager-cache.XXXXXX";
  bool cached = ::mkdtemp(cache) != nullptr && ::setenv("SBPIPE_IMAGER_CACHE", cache, 1) == 0;
  doctest::Context context(argc, argv);
  int status = context.run();
  std::error_code ec;
  if (cached) std::filesystem::remove_all(cache, ec);
  return status;
}

// Where the tests find the binary and the source tree. The only file compiled with the build
// tree's paths, so that every other test object is the same in any checkout (ccache shares them
// between worktrees and clones).
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "support/process.h"

namespace sbpipe::test {

std::string sbpipe_binary() {
  const char* given = std::getenv("SBPIPE_TEST_BINARY");
  return given != nullptr && *given != 0 ? given : SBPIPE_BINARY;
}

bool sanitized_binary() {
  static const bool sanitized = [] {
    // The instrumented binary calls __asan_init at start; its name is in the dynamic symbol table.
    std::ifstream in(sbpipe_binary(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return bytes.find("__asan_init") != std::string::npos;
  }();
  return sanitized;
}

std::string source_dir() { return SBPIPE_SOURCE_DIR; }

std::string test_support_dir() { return source_dir() + "/tests/support"; }

}  // namespace sbpipe::test

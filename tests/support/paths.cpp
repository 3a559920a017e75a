// Where the tests find the binary and the source tree. The only file compiled with the build
// tree's paths, so that every other test object is the same in any checkout (ccache shares them
// between worktrees and clones).
#include <cstdlib>

#include "support/process.h"

namespace sbpipe::test {

std::string sbpipe_binary() {
  const char* given = std::getenv("SBPIPE_TEST_BINARY");
  return given != nullptr && *given != 0 ? given : SBPIPE_BINARY;
}

std::string source_dir() { return SBPIPE_SOURCE_DIR; }

std::string test_support_dir() { return source_dir() + "/tests/support"; }

}  // namespace sbpipe::test

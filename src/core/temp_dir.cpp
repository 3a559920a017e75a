#include "core/temp_dir.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

namespace sbpipe {

Result<ScratchDir> ScratchDir::create(std::string_view prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/" + std::string(prefix) + "-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr)
    return fail(ErrorKind::io, "cannot create a scratch directory under " + pattern + ": " + std::strerror(errno));
  return ScratchDir(pattern);
}

ScratchDir::~ScratchDir() {
  if (m_path.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(m_path, ignored);
}

} // namespace sbpipe

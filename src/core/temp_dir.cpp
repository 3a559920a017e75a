#include "core/temp_dir.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

namespace sbpipe {

Result<ScratchDir> ScratchDir::create(std::string_view prefix) {
  const char* base = std::getenv("TMPDIR");
  return create_in(base && *base ? base : "/tmp", prefix);
}

Result<ScratchDir> ScratchDir::create_in(const std::filesystem::path& parent, std::string_view prefix) {
  std::string pattern = (parent / (std::string(prefix) + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr)
    return fail(ErrorKind::io, "cannot create a scratch directory under " + pattern + ": " + std::strerror(errno));
  return ScratchDir(pattern);
}

ScratchDir::~ScratchDir() {
  if (m_path.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(m_path, ignored);
}

}  // namespace sbpipe

#pragma once
// A private scratch directory (mode 0700 under $TMPDIR or /tmp), removed
// with everything in it when the object goes away.

#include <filesystem>
#include <string_view>

#include "core/error.h"

namespace sbpipe {

class ScratchDir {
public:
  // io error when the directory cannot be made.
  static Result<ScratchDir> create(std::string_view prefix);
  // The same inside `parent` (to stage files that are then renamed into
  // `parent`, which needs the same file system).
  static Result<ScratchDir> create_in(const std::filesystem::path& parent, std::string_view prefix);
  ScratchDir(ScratchDir&& other) noexcept : m_path(std::move(other.m_path)) { other.m_path.clear(); }
  ScratchDir& operator=(ScratchDir&&) = delete;
  ScratchDir(const ScratchDir&) = delete;
  ~ScratchDir();
  const std::filesystem::path& path() const { return m_path; }

private:
  explicit ScratchDir(std::filesystem::path path) : m_path(std::move(path)) {}
  std::filesystem::path m_path;
};

}  // namespace sbpipe

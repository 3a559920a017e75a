#pragma once
// Streams through the members of an archive (ISO 9660, or tar with gzip,
// zstd or no compression) read from a ByteSource, in the order libarchive
// yields them. Member data is read or copied out in chunks; nothing is
// loaded whole.

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "core/stream.h"

struct archive;

namespace sbpipe {

enum class ArchiveFormat { iso9660, tar };

enum class MemberKind { regular, directory, symlink, hardlink, other };

struct ArchiveMember {
  std::string path;  // normalised: no leading "./" or "/"
  uint64_t size = 0;
  bool regular = false;  // kind == regular
  MemberKind kind = MemberKind::other;
  std::string link_target;  // symlinks and hardlinks: what they name
};

class ArchiveWalker {
public:
  // `label` names the input in messages. Fails with invalid_input when the
  // bytes are not an archive of that format.
  static Result<std::unique_ptr<ArchiveWalker>> open(std::unique_ptr<ByteSource> source, ArchiveFormat format, std::string label);
  ~ArchiveWalker();
  ArchiveWalker(const ArchiveWalker&) = delete;
  ArchiveWalker& operator=(const ArchiveWalker&) = delete;

  // The next member; nullopt at the end. invalid_input when damaged.
  Result<std::optional<ArchiveMember>> next();

  // Copies the current member's data into a new file at `dest` (which must
  // not exist), with mode 0600. Returns the bytes written. On failure the
  // partial file is removed.
  Result<uint64_t> copy_to(const std::filesystem::path& dest);

  // A stream over the current member's data, valid until next().
  Result<size_t> read(std::span<char> buffer);

private:
  ArchiveWalker(std::unique_ptr<ByteSource> source, std::string label);
  static long on_read(struct archive*, void* self, const void** out);
  std::string error_text() const;

  std::unique_ptr<ByteSource> m_source;
  std::string m_label;
  std::string m_buffer;
  std::optional<Error> m_source_error;
  struct archive* m_archive = nullptr;
};

}  // namespace sbpipe

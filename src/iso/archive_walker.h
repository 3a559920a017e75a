#pragma once
// Streams through the members of an archive read from a ByteSource, in
// order, with one walk for every consumer (for_each): ISO 9660 images
// (through libarchive), and tar streams with gzip, zstd or no compression,
// whose members are read as Go's archive/tar reads them (oci/tar_reader.h),
// because containerd, which unpacks installer layers on the node, does.
// Member data is read or copied out in chunks; nothing is loaded whole.

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/stream.h"

namespace sbpipe {

enum class ArchiveFormat { iso9660, tar };

// hardlink: a tar hardlink entry (ISO hardlinks are plain files).
// global_header: a tar PAX global header ('g'), which containerd applies as
// an entry of its own. other: a type containerd does not unpack.
enum class MemberKind { regular, directory, symlink, hardlink, device, fifo, global_header, other };

struct ArchiveMember {
  std::string name;  // as the format's reader gives it (tar: as Go's archive/tar reads it)
  std::string path;  // `name` cleaned lexically (core/go_path.h), without a leading "/"; "." for the root
  uint64_t size = 0;
  bool regular = false;  // kind == regular
  MemberKind kind = MemberKind::other;
  std::string link_target;  // symlinks and hardlinks: what they name, as stored
  char typeflag = 0;        // tar: the entry's type flag (after Go's conversions)
  bool sparse = false;      // tar: a GNU sparse file (its data cannot be read here)
};

class ArchiveWalker {
public:
  // Reads members and their data. Returns an error to stop the walk.
  using Visitor = std::function<Status(const ArchiveMember& member)>;

  // `label` names the input in messages. Fails with invalid_input when the
  // bytes are not an archive of that format.
  static Result<std::unique_ptr<ArchiveWalker>> open(std::unique_ptr<ByteSource> source, ArchiveFormat format, std::string label);
  ~ArchiveWalker();
  ArchiveWalker(const ArchiveWalker&) = delete;
  ArchiveWalker& operator=(const ArchiveWalker&) = delete;

  // Calls `visit` for each member in order; `visit` may read the member's
  // data (read, copy_to) before it returns. Stops at the first error, the
  // visitor's or the archive's (invalid_input when it is damaged).
  Status for_each(const Visitor& visit);

  // Copies the current member's data into a new file at `dest` (which must
  // not exist), with mode 0600. Returns the bytes written. On failure the
  // partial file is removed. invalid_input for a sparse tar member.
  Result<uint64_t> copy_to(const std::filesystem::path& dest);

  // Reads the current member's data; 0 at its end.
  Result<size_t> read(std::span<char> buffer);

  const std::string& label() const { return m_label; }

private:
  struct Impl;
  ArchiveWalker(std::unique_ptr<Impl> impl, std::string label);
  Result<std::optional<ArchiveMember>> next();

  std::unique_ptr<Impl> m_impl;
  std::string m_label;
  bool m_sparse = false;  // the current member
};

}  // namespace sbpipe

#pragma once
// The file system an image's layers make where it runs, applied in order as
// containerd applies a layer: Debian 12's containerd 1.6.20, archive/tar.go
// applyNaive, createTarFile, mkparent, hardlinkRootPath, validateWhiteout,
// with continuity v0.3.0 fs/path.go RootPath for the parents. The members
// are read as Go's archive/tar reads them (iso/archive_walker.h). Per
// member:
// - the name is cleaned (filepath.Clean) and split; its directory part is
//   resolved through the symlinks already unpacked, inside the root (an
//   absolute link is read from the root, ".." never leaves it); a member
//   resolving to the root itself is skipped;
// - missing parent directories are made; a parent that exists but is no
//   directory, or a chain of more than 255 links, fails the layer;
// - ".wh.NAME" removes NAME in the resolved directory (a NAME that would
//   leave it, ".." or ".", fails the layer), and ".wh..wh..opq" removes
//   what the directory held except what this layer unpacked so far;
// - an entry replaces whatever is at its path, unless both are
//   directories; a PAX global header removes what is there and makes nothing;
// - a hardlink names the node its target (resolved like a parent, its last
//   step not followed) is, sharing its content; a missing or directory
//   target fails the layer. A symlink is stored as written; devices and
//   FIFOs are nodes; any other type fails the layer.
// Where the kernel would follow a link in the middle of a path (a link
// whose target passes through another link), the model follows it too, but
// never out of the root: containerd's result there would depend on the host.
// Ownership, modes, times and xattrs are not modelled: they never decide
// which file is at a path.
//
// Not thread-safe.

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "core/error.h"
#include "iso/archive_walker.h"
#include "oci/image.h"

namespace sbpipe {

enum class FsKind { directory, regular, symlink, device, fifo };

struct FsContent {
  uint64_t size = 0;
  std::string sha256;          // hex; when ImageFs records digests
  std::filesystem::path file;  // the copy `keep` asked for; empty when none
  bool sparse = false;         // a GNU sparse file: its bytes are not read
};

struct FsNode {
  FsKind kind = FsKind::directory;
  std::string link_target;                                  // symlink: as stored; hardlink: the target's name as stored
  bool hardlink = false;                                    // made by a hardlink entry (it shares its target's node contents)
  std::shared_ptr<const FsContent> content;                 // regular files
  std::map<std::string, std::unique_ptr<FsNode>> children;  // directories
};

class ImageFs {
public:
  // Called for every entry as it lands, with its resolved path
  // ("/usr/install/amd64/vmlinuz.efi") and kind; for a regular file, the
  // answer is where to copy its bytes (nullopt: nowhere).
  using Keep = std::function<std::optional<std::filesystem::path>(const std::string& path, MemberKind kind)>;
  enum class Digests { no, yes };

  explicit ImageFs(Digests digests = Digests::no);

  // Applies one layer (its stored bytes: gzip, zstd or plain tar).
  // invalid_input, naming the layer and the member, where containerd would
  // fail to apply it, or when `keep` asks for a sparse file's bytes; the
  // layer's errors (damaged tar, I/O) as they come.
  Status apply(const LocalLayer& layer, const Keep& keep = {});

  // The node at `path` (absolute, clean), taking every step as named: a
  // symlink on the way is not followed (nullptr), nor at the end (the link
  // itself). nullptr when absent.
  const FsNode* at(std::string_view path) const;

  // Every path below the root with its node, depth first, names in order.
  void for_each(const std::function<void(const std::string& path, const FsNode& node)>& visit) const;

private:
  Status apply_member(ArchiveWalker& walker, const ArchiveMember& member, const Keep& keep, std::set<std::string>& unpacked);

  Digests m_digests;
  FsNode m_root;
};

}  // namespace sbpipe

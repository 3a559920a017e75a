#pragma once
// The entries of a tar stream, read as Go's archive/tar reads them, because
// that is the reader of every consumer of an installer image: containerd
// (ctr import, the node's image pull), crane and docker. Tarballs that Go and
// another reader name differently would let verify check one file while the
// node unpacks another (issue 30), so this follows go1.19's
// src/archive/tar/reader.go (Reader.next, readHeader, handleRegularFile,
// mergePAX, parsePAX; strconv.go; format.go getFormat), the Go that
// Debian 12's containerd 1.6.20 is built with:
// - a header block is accepted by its checksum (unsigned or signed sum) and
//   its magic tells V7, USTAR/PAX, GNU or STAR; numeric fields are octal or
//   base-256, and one that does not parse fails the archive;
// - USTAR and STAR names get their prefix field in front ("prefix/name");
// - a PAX 'x' header's records apply to the next entry only (a later 'x'
//   replaces an earlier one): path, linkpath and size (empty values keep the
//   header's), with uid, gid and times checked;
// - a GNU long name ('L') or long link ('K') overrides the name or link
//   target, PAX records included, whatever their order;
// - a PAX global header ('g') is an entry of its own, named by its header
//   and its own path record;
// - the legacy type '\0' is a directory when its name ends in '/', else a
//   regular file; link, symlink, device, directory and FIFO entries have no
//   data, whatever their size field says;
// - GNU.sparse.* PAX records make a sparse file (renamed by
//   GNU.sparse.name); the old GNU sparse type 'S' is refused.
// The end is two zero blocks, or the input ending at a header or inside the
// padding after the last data. Anything else (a truncated entry, a damaged
// header, a zero block followed by data, an extension header over 1 MiB) is
// invalid_input, as Go's reader fails.
//
// Not thread-safe. Reads `source` strictly forward.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/stream.h"

namespace sbpipe {

struct TarHeader {
  char typeflag = '0';
  std::string name;          // as Go's archive/tar reads it (not cleaned)
  std::string linkname;      // hardlinks and symlinks: as read
  int64_t size = 0;          // the logical size (a sparse file's: expanded)
  bool sparse = false;       // GNU sparse in PAX records: the stored data is a map and fragments
  uint64_t data_offset = 0;  // where the stored data starts in the stream
  uint64_t data_size = 0;    // how many bytes are stored (0 for header-only types)
};

class TarReader {
public:
  // Skips n bytes of the source without reading them (a file: seeking);
  // returns how many it skipped (fewer at the end).
  using Skipper = std::function<Result<uint64_t>(uint64_t n)>;

  // `label` names the stream in messages.
  TarReader(ByteSource& source, std::string label, Skipper skip = {});

  // The next entry, after skipping what was not read of the current one;
  // nullopt at the end. invalid_input as described above.
  Result<std::optional<TarHeader>> next();

  // Reads the current entry's stored data; 0 at its end. invalid_input when
  // the stream ends inside it.
  Result<size_t> read(std::span<char> buffer);

private:
  Status read_exact(char* out, size_t n, bool* ended_cleanly);
  Status discard(uint64_t n);
  Result<std::string> read_special(const TarHeader& header);
  Error damaged(const std::string& what) const;

  ByteSource& m_source;
  std::string m_label;
  Skipper m_skip;
  std::vector<char> m_buffer;
  size_t m_begin = 0, m_end = 0;
  uint64_t m_position = 0;   // bytes taken from the stream so far
  uint64_t m_remaining = 0;  // stored bytes of the current entry not yet read
  uint64_t m_padding = 0;    // to the next block after them
  bool m_done = false;
};

}  // namespace sbpipe

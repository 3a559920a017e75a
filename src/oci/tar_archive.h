#pragma once
// Reads a tar file in place: an index of its members, and streams over any
// member's bytes. Nothing is extracted; skipping a member seeks past it (a
// compressed tarball is read through again instead). Members are read as
// Go's archive/tar reads them (oci/tar_reader.h), as containerd's and
// crane's importers do, and keyed by their cleaned names (Go's path.Clean,
// then no leading "/"), as containerd's importer keys them. Symbolic and hard
// links to members are followed (old docker-save writes repeated layers so).

#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/stream.h"
#include "oci/layer_codec.h"

namespace sbpipe {

struct TarEntry {
  std::string name;
  uint64_t size = 0;
  std::string link_target;   // for links: the normalised name they point at
  int ordinal = 1;           // 1 for the first member of this name (of any type), 2 for a repeat...
  uint64_t data_offset = 0;  // where its bytes start in the (decoded) stream
};

class TarArchive {
public:
  // Indexes the archive. invalid_input when the file is not a tar archive
  // or is damaged; not_found when it does not exist.
  static Result<TarArchive> open(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return m_path; }
  const std::vector<TarEntry>& entries() const { return m_entries; }
  // The regular-file entry for `name`, following links; nullptr if none.
  // The last member of a name wins, as on extraction. O(1) per link hop.
  const TarEntry* find(std::string_view name) const;
  // A re-openable stream over a member's bytes. The member must exist.
  SourceOpener opener(const TarEntry& entry) const;
  // Reads a small member whole (metadata documents).
  Result<std::string> read_small(const TarEntry& entry, size_t max_bytes = 16 << 20) const;

private:
  std::filesystem::path m_path;
  Encoding m_encoding = Encoding::none;
  std::vector<TarEntry> m_entries;
  std::unordered_map<std::string, size_t> m_last_by_name;  // index into m_entries
};

// A member's name as the index keys it: cleaned as Go's path.Clean does,
// without a leading "/".
std::string normalize_member_name(std::string_view name);

}  // namespace sbpipe

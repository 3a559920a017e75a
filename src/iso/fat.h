#pragma once
// A read-only FAT12/16/32 reader for EFI system partitions, reading names
// and directories as EDK2's FatPkg does (FatPkg/EnhancedFatDxe,
// edk2-stable202211), so sbpipe sees the files the firmware opens:
//   - the FAT type: BPB_FATSz16 of 0 means FAT32; otherwise FAT12 below 4085
//     clusters, else FAT16;
//   - a directory is read entry by entry (DirectoryManage.c
//     FatLoadNextDirEnt): deleted entries (0xE5) and entries with the volume
//     bit (0x08, which long-name parts carry) are passed over whatever their
//     first byte, and only then does a first byte of 0 end the directory;
//   - a short entry's long name is taken only when the entries before it
//     form a whole chain, each of attribute exactly 0x0F, cluster field 0,
//     the checksum of the short name and ordinals 1, 2, ... up to the one
//     flagged last, at most 20 (FatLoadLongNameEntry); it ends at its first
//     NUL; otherwise the name is the 8.3 name with its case flags
//     (FatGetFileNameViaCaseFlag);
//   - a name is looked up as FatSearchODir does: the first entry, in
//     directory order, whose name equals it ignoring case, or whose raw 8.3
//     name equals its 8.3 form when it can be one (FatCheckIs8Dot3Name).
// Every offset, cluster number and chain read from the image is checked
// against the image's size before use; chains that loop or leave the
// volume fail.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/random_access.h"

namespace sbpipe {

struct FatFile {
  std::string path;        // "EFI/BOOT/BOOTX64.EFI": each component as the firmware names it, '/' separated
  std::string short_path;  // the same with every component's 8.3 name ("EFI/BOOT/BOOTX6~1.EFI")
  uint64_t size = 0;
  uint32_t first_cluster = 0;
  bool directory = false;
  // Every path the firmware opens this entry by (long or 8.3 name per
  // component; at most 64 spellings), `path` first.
  std::vector<std::string> spellings;
};

class FatVolume {
public:
  // The volume of at most `size` bytes at `offset` of `file` (which must
  // outlive it). not_found when EDK2 would not mount it (FatOpenDevice's
  // checks of the BPB: the firmware boots nothing from it); invalid_input,
  // naming `label`, when it would, but the volume is larger than the space
  // given or its FAT cannot hold its clusters.
  static Result<FatVolume> open(const RandomAccess& file, uint64_t offset, uint64_t size, std::string label);

  // Every regular file, depth first, in directory order (two entries of one
  // name are both listed). invalid_input when a directory is damaged (a
  // chain outside the volume, a loop, more than 100000 entries or 32
  // levels).
  Result<std::vector<FatFile>> files() const;

  // The entry the firmware opens at `path` ('/' or '\' separated, leading
  // separators ignored), component by component as FatSearchODir matches;
  // nullopt when a component is not found or a non-final one is no
  // directory.
  Result<std::optional<FatFile>> find(std::string_view path) const;

  // The entries of the directory at `path` ("" for the root) in directory
  // order, as a directory listing returns them (no "." or ".."); empty when
  // there is no such directory.
  Result<std::vector<FatFile>> list(std::string_view path) const;

  // A file's content, when it is at most `max_bytes` (invalid_input otherwise).
  Result<std::string> read(const FatFile& f, size_t max_bytes) const;

  // Copies a file's content into a new file `dest` (mode 0600).
  Status copy(const FatFile& f, const std::filesystem::path& dest) const;

  uint64_t byte_size() const { return m_total_bytes; }

private:
  struct Entry;
  FatVolume(const RandomAccess& file, std::string label) : m_file(&file), m_label(std::move(label)) {}
  Result<std::vector<uint32_t>> chain(uint32_t first) const;
  Result<uint32_t> next_cluster(uint32_t cluster) const;
  uint64_t cluster_offset(uint32_t cluster) const;
  Result<std::string> read_directory(uint32_t first_cluster, bool fixed_root) const;
  Result<std::vector<Entry>> entries(uint32_t first_cluster, bool fixed_root) const;
  std::unexpected<Error> damaged(const std::string& why) const;

  const RandomAccess* m_file;
  std::string m_label;
  uint64_t m_offset = 0;
  uint64_t m_total_bytes = 0;
  uint32_t m_bytes_per_sector = 0;
  uint32_t m_cluster_bytes = 0;
  uint64_t m_fat_offset = 0;   // first FAT, from the volume start
  uint64_t m_root_offset = 0;  // FAT12/16 fixed root directory
  uint32_t m_root_bytes = 0;
  uint64_t m_data_offset = 0;
  uint32_t m_cluster_count = 0;
  uint32_t m_root_cluster = 0;  // FAT32
  int m_fat_bits = 0;           // 12, 16 or 32
};

// FatCheckIs8Dot3Name: the 11-byte 8.3 form of `name` (upper case, blank
// padded), or nullopt when it cannot be a short name.
std::optional<std::string> fat_short_form(std::u16string_view name);

}  // namespace sbpipe

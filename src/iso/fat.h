#pragma once
// A read-only FAT12/16/32 reader for EFI system partitions: the image UEFI
// firmware actually boots from a CD (the El Torito UEFI entry) or a USB
// stick (the ESP partition). Every offset, cluster number and chain read
// from the image is checked against the image's size before use; chains
// that loop or leave the volume fail. The FAT type is decided as EDK2's
// FatPkg decides it (BPB_FATSz16 of 0 means FAT32; otherwise FAT12 below
// 4085 clusters, else FAT16), so sbpipe reads what the firmware reads.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/random_access.h"

namespace sbpipe {

struct FatFile {
  std::string path;  // "EFI/BOOT/BOOTX64.EFI", long names where present, '/' separated
  uint64_t size = 0;
  uint32_t first_cluster = 0;
};

class FatVolume {
public:
  // The volume of at most `size` bytes at `offset` of `file` (which must
  // outlive it). invalid_input, naming `label`, when the boot sector is not
  // a FAT BPB or describes a volume larger than the space given.
  static Result<FatVolume> open(const RandomAccess& file, uint64_t offset, uint64_t size, std::string label);

  // Every regular file, depth first. invalid_input when a directory is
  // damaged (a chain outside the volume, a loop, more than 100000 entries
  // or 32 levels).
  Result<std::vector<FatFile>> files() const;

  // Copies a file's content into a new file `dest` (mode 0600).
  Status copy(const FatFile& f, const std::filesystem::path& dest) const;

  uint64_t byte_size() const { return m_total_bytes; }

private:
  FatVolume(const RandomAccess& file, std::string label) : m_file(&file), m_label(std::move(label)) {}
  Result<std::vector<uint32_t>> chain(uint32_t first) const;
  Result<uint32_t> next_cluster(uint32_t cluster) const;
  uint64_t cluster_offset(uint32_t cluster) const;
  Result<std::string> read_directory(uint32_t first_cluster, bool fixed_root) const;
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

}  // namespace sbpipe

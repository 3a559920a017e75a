#pragma once
// Where UEFI firmware finds the EFI system partition of an ISO image: the
// El Torito boot catalog's UEFI entries (booting from a CD; El Torito
// specification 1.0, platform id 0xEF) and the MBR or GPT partitions of type
// EFI system (booting the same image from a USB stick; xorriso's
// -append_partition, as Talos's imager writes it). The ISO 9660 tree, which
// libarchive reads, is not what firmware boots.

#include <cstdint>
#include <string>
#include <vector>

#include "core/random_access.h"

namespace sbpipe {

struct EspLocation {
  uint64_t offset = 0;
  uint64_t size = 0;   // the space available (to the end of the image when unknown)
  std::string source;  // "El Torito UEFI entry", "MBR partition 2 (type 0xef)", "GPT partition 1"
};

// Every distinct location (by offset), El Torito entries first. Never
// fails on a missing catalog or partition table: an empty list means none.
// invalid_input when a table that is there points outside the image.
Result<std::vector<EspLocation>> find_efi_system_partitions(const RandomAccess& iso);

}  // namespace sbpipe

#pragma once
// Where UEFI firmware finds file systems on a medium, as EDK2's PartitionDxe
// does (MdeModulePkg/Universal/Disk/PartitionDxe, edk2-stable202211): on a
// medium and on every partition it finds (the driver binds to its own
// children too), it tries GPT, then El Torito, then MBR, and stops at the
// first that finds a table (Partition.c mPartitionDetectRoutineTable; El
// Torito runs inside the UDF routine, Udf.c:775):
//   - GPT (Gpt.c PartitionInstallGptChildHandles): a protective MBR entry of
//     type 0xEE starting at LBA 1; the primary header at LBA 1 valid
//     (signature, header CRC, MyLBA, entry size) or else the backup at the
//     last LBA, which the firmware writes back over the primary when the
//     medium is writable; every entry of a used type inside the usable LBAs,
//     not overlapping another and without attribute bit 1 is a partition,
//     whatever its type (PartitionCheckGptEntry). A primary whose header is
//     valid but whose entry array fails its CRC is still read on a medium
//     the firmware cannot write; sbpipe takes the partitions of both
//     tables.
//   - El Torito (ElTorito.c PartitionInstallElToritoChildHandles): every
//     boot record volume descriptor's catalog, skipped when its validation
//     entry's checksum or 55AA fails; in it every 32-byte slot after the
//     validation entry whose indicator is 0x88 and LBA non-zero is a
//     partition, whatever its platform id or section header; its size is
//     the sector count in 2048-byte units, or the rest of the volume when
//     the count is below 2.
//   - MBR (Mbr.c): when every non-empty entry lies inside the medium and
//     none overlaps another (PartitionValidMbr), every entry of non-zero
//     type and size but 0xEE; inside an MBR or GPT partition, the chain of
//     extended boot records.
// A CD drive reads the medium in 2048-byte blocks, a disk or USB stick in
// 512-byte ones; the tables found differ (a GPT at byte 512 is seen only by
// the second), so both are tried. The firmware's FAT driver then mounts
// any of these, and the medium itself, that holds a FAT file system
// (fat.h).

#include <cstdint>
#include <string>
#include <vector>

#include "core/random_access.h"

namespace sbpipe {

struct EspLocation {
  uint64_t offset = 0;
  uint64_t size = 0;   // the space the firmware gives it, cut to the end of the image
  std::string source;  // "the whole image", "El Torito entry 1", "MBR partition 2 (type 0xef)", "GPT partition 1"
};

// Every distinct place (by offset and size) the firmware may mount a file
// system from, the whole image first. Never fails on a missing or invalid
// table (the firmware ignores it); io when the image cannot be read.
Result<std::vector<EspLocation>> find_firmware_partitions(const RandomAccess& image);

}  // namespace sbpipe

#pragma once
// Everything the boot chain can load from an ISO or disk image, found as
// the firmware and systemd-boot find it, so the gate judges each file:
//   - every place the firmware mounts a FAT file system (iso/esp.h: GPT, El
//     Torito, MBR, nested, read in 512- and 2048-byte blocks; iso/fat.h:
//     FatOpenDevice's checks);
//   - on each, the boot manager's fallback \EFI\BOOT\BOOT<arch>.EFI
//     (MdeModulePkg/Library/UefiBootManagerLib/BmBoot.c
//     BmExpandMediaDevicePath, on every file system it finds), looked up as
//     FatPkg looks names up (long or 8.3 name, without case);
//   - systemd-boot's sources: the `efi` and `linux` lines of every
//     loader/entries/*.conf (Boot Loader Specification Type #1), every
//     EFI/Linux/*.efi (Type #2), and every other *.efi file (an addon, a
//     tool an entry or a boot variable may name), under any name the
//     firmware opens it by;
//   - the db systemd-boot enrols (loader/keys/*/db.auth).
// A file system that holds none of these is no boot file system and is
// passed over. On an ISO each file found must be the ISO 9660 tree's copy
// byte for byte (its verdict then holds); one that differs, or that the tree
// lacks, is gated itself and reported; a tree boot file missing from a boot
// file system, a file system the firmware mounts but sbpipe cannot read,
// and an ISO with UKIs but no boot file system fail (layout lines).

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "secureboot/efi_inputs.h"

namespace sbpipe {

// What a boot path is, by its lower-case path ('/' separated, no leading
// '/'): a UKI (EFI/Linux/*.efi), the firmware's fallback bootloader
// (EFI/BOOT/BOOT*.EFI), systemd-boot's db (loader/keys/*/db.auth); nullopt
// for others.
std::optional<ExpectedRole> boot_path_role(const std::string& lower_path);

// Gates what the boot chain loads from the image at `image` (an ISO, a disk
// image or a bare FAT image), appending binaries and layout lines to `out`.
// `tree`: the ISO 9660 tree's boot files by lower-case path (empty for a
// disk image: then every file found is gated). `next_path` names a new
// scratch file for each extracted copy. Returns the number of boot file
// systems found; io when the image cannot be read.
Result<size_t> gate_boot_file_systems(const std::filesystem::path& image, const std::map<std::string, EfiBinary>& tree,
                                      const std::function<std::filesystem::path()>& next_path, std::vector<EfiBinary>& out);

}  // namespace sbpipe

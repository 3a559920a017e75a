#pragma once
// The PXE assets of a Talos ISO: the plain (non-SecureBoot) ISO holds the
// kernel at boot/vmlinuz and the initramfs at boot/initramfs.xz. They are
// streamed out of the image (never loaded whole) into
// OUT/vmlinuz-<arch> and OUT/initramfs-<arch>.xz, each written under a
// temporary name and renamed, and only once both were found.

#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"

namespace sbpipe {

struct PxeFile {
  std::string member;  // path inside the ISO
  std::filesystem::path path;
  uint64_t size = 0;
};

// invalid_input when the input is not an ISO 9660 image or lacks a member
// (naming which); usage error for an unknown architecture.
Result<std::vector<PxeFile>> extract_pxe_assets(const std::filesystem::path& iso, const std::filesystem::path& out_dir,
                                                const std::string& arch);

}  // namespace sbpipe

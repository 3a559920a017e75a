#pragma once
// Finds the EFI binaries that `sbpipe verify` must check, in whatever the
// pipeline produced: an installer image (docker-save or OCI layout, its
// layers gzip, zstd or plain), an ISO image, a single EFI binary, or a
// directory holding any of those. Binaries inside images are streamed out
// into a scratch directory; nothing is held in memory whole.

#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"
#include "oci/image.h"

namespace sbpipe {

// What the location of a file says it must be. A SecureBoot ISO also
// carries the db it enrols (loader/keys/auto/db.auth): not a binary, but
// checked beside them. `layout` is no file: a problem with what the input
// boots (a link at a boot path, an EFI partition unlike the ISO tree).
enum class ExpectedRole { any, uki, bootloader, signature_database, layout };

struct EfiBinary {
  std::string display;         // "installer.tar!usr/install/amd64/vmlinuz.efi"
  std::filesystem::path file;  // on disk: the input itself or an extracted copy
  ExpectedRole expected = ExpectedRole::any;
  std::string problem;  // layout: what is wrong (a verdict that fails); empty: `note` says what held
  std::string note;
  std::string input;  // the input it was found in, as given
};

// Returns every EFI binary found, in input order, judged where the boot
// chain takes it from:
// - an installer image as containerd unpacks it: its layers applied in
//   order with OCI whiteouts and opaque directories; a boot path that is a
//   symlink or hardlink, or lies under a symlinked directory, or is gone in
//   the final image, is a layout problem; each architecture needs its UKI
//   and systemd-boot;
// - an ISO as firmware boots it: besides the ISO 9660 tree, the EFI system
//   partitions of its El Torito UEFI entries and MBR/GPT partition tables
//   are read (iso/fat.h); their EFI/BOOT/BOOT*.EFI, EFI/Linux/*.efi and
//   loader/keys/*/db.auth must be the tree's, byte for byte (a copy that
//   differs is gated too); a partition that cannot be read, an ISO with
//   UKIs but no EFI partition or no db.auth, and links at boot paths are
//   layout problems.
// invalid_input when an input is none of the supported kinds, is damaged,
// or holds no EFI binary (a gate that checks nothing must not pass);
// not_found when missing.
Result<std::vector<EfiBinary>> find_efi_binaries(const std::vector<std::string>& inputs, const std::filesystem::path& scratch);

}  // namespace sbpipe

namespace sbpipe {

// The boot files of one installer image (from any source: a tarball, a
// layout or a registry, oci/remote_image.h), found and judged as
// find_efi_binaries judges an installer input: its layers applied as
// containerd applies them, layout problems as entries of their own. The
// binaries are copied into `scratch`, which must hold no efi-N.efi files.
// invalid_input when the image holds no boot file, or containerd could not
// apply a layer.
Result<std::vector<EfiBinary>> installer_boot_files(const LocalImage& image, const std::filesystem::path& scratch);

// The architecture a Talos installer image is for, from where its layers put
// the boot files (usr/install/<arch>/, siderolabs/talos pkg/imager/out.go):
// for images whose config names none (Talos 1.8 and 1.9). invalid_input when
// no layer has usr/install/<arch>/ or two architectures appear.
Result<std::string> installer_arch(const LocalImage& image);

}  // namespace sbpipe

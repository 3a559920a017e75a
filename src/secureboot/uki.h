#pragma once
// What a signed EFI binary is for, and for a Unified Kernel Image (UKI) the
// sections that decide how a node boots, per boot profile.
//
// Profiles (systemd 257 "multi-profile UKIs", Talos 1.10+): the sections
// before the first `.profile` are the base; each `.profile` starts a profile
// that runs to the next one. Booting a profile uses the base sections with
// that profile's sections replacing those of the same name. Talos writes
// `main` (its `.profile` and `.pcrsig` only) and `reset` or
// `reset-maintenance` (with its own `.cmdline`). A UKI without `.profile`
// (Talos 1.9) has one profile, the base.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "secureboot/kernel_cmdline.h"
#include "secureboot/pe.h"

namespace sbpipe {

enum class EfiRole { uki, systemd_boot, other };
std::string_view role_name(EfiRole role);

struct UkiProfile {
  std::string id;                // "main", "reset", ...; empty for a UKI without profiles
  std::string title;             // TITLE= of `.profile`, when there is one
  std::string cmdline;           // the effective `.cmdline` up to its first NUL, trailing whitespace trimmed
  KernelCmdline kernel_cmdline;  // as the kernel reads it
  // What systemd-stub loads for this profile: the base sections, the
  // profile's replacing those of the same name, in the file's order.
  std::vector<const PeSection*> sections;
  // The section of this name among `sections`, or nullptr.
  const PeSection* section(std::string_view name) const;
  // "profile main" or "" (for messages).
  std::string label() const { return id.empty() ? "" : "profile " + id; }
};

struct UkiInfo {
  std::vector<UkiProfile> profiles;       // at least one
  std::optional<std::string> os_version;  // VERSION= (or VERSION_ID=) of .osrel
  std::optional<std::string> pcrpkey;     // the PEM public key of .pcrpkey
  bool has_pcrsig = false;                // some profile has a .pcrsig
};

// A UKI carries `.linux`; systemd-boot carries `.sdmagic`.
EfiRole role_of(const PeImage& image);

// Reads the UKI's profiles and small sections (each capped at 1 MiB). The
// PeSection pointers point into `image`, which must outlive the result.
// invalid_input when a small section is larger or lies outside the file,
// when the base or a profile holds two sections of one name (the stub and
// sbpipe would disagree on which counts), or when a `.profile` cannot be
// parsed (lines KEY=VALUE, an ID of letters, digits, "-", "_" and ".").
Result<UkiInfo> read_uki(const RandomAccess& file, const PeImage& image);

// The command line split on whitespace.
std::vector<std::string> cmdline_words(std::string_view cmdline);

// The value of KEY= in an os-release text, unquoted; nullopt when absent.
std::optional<std::string> os_release_value(std::string_view text, std::string_view key);

}  // namespace sbpipe

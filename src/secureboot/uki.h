#pragma once
// What a signed EFI binary is for, and for a Unified Kernel Image (UKI) the
// sections that decide how a node boots: the kernel command line baked into
// `.cmdline`, `.osrel`, and the PCR signing material (`.pcrsig`, `.pcrpkey`).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "secureboot/pe.h"

namespace sbpipe {

enum class EfiRole { uki, systemd_boot, other };
std::string_view role_name(EfiRole role);

struct UkiInfo {
  std::string cmdline;                    // as stored, trailing whitespace trimmed
  std::optional<std::string> os_version;  // VERSION= (or VERSION_ID=) of .osrel
  std::optional<std::string> pcrpkey;     // the PEM public key of .pcrpkey
  bool has_pcrsig = false;
};

// A UKI carries `.linux`; systemd-boot carries `.sdmagic`.
EfiRole role_of(const PeImage& image);

// Reads the UKI sections (each capped at 1 MiB). invalid_input when one is
// larger or lies outside the file.
Result<UkiInfo> read_uki(const RandomAccess& file, const PeImage& image);

// The command line split on whitespace.
std::vector<std::string> cmdline_words(std::string_view cmdline);

// The value of KEY= in an os-release text, unquoted; nullopt when absent.
std::optional<std::string> os_release_value(std::string_view text, std::string_view key);

} // namespace sbpipe

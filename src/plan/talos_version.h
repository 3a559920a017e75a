#pragma once
// Talos versions, and the range sbpipe supports, decided here once: the
// plan's version-dependent rules (plan.cpp) and the check of a release tag
// before anything runs (`plan`, `run`, `submit`) read the same constants.
//
// A Talos version is written as talosctl parses a version contract
// (siderolabs/talos pkg/machinery/config/contract.go, ParseContractFromVersion:
// `^v(\d+)\.(\d+)($|\.)`, the leading "v" required), completed to what an
// image tag of siderolabs/imager is: vMAJOR.MINOR.PATCH with an optional
// pre-release after a '-' (v1.14.0-rc.1, v1.14.0-alpha.0), the characters
// an OCI tag allows.

#include <compare>
#include <string>
#include <string_view>
#include <tuple>

#include "core/error.h"

namespace sbpipe {

struct TalosVersion {
  int major = 0;
  int minor = 0;
  int patch = 0;
  std::string pre;  // "rc.1", or "" for a release

  // Releases and pre-releases of one patch compare equal here: the range is
  // about lines and patches, not about which pre-release came first.
  auto operator<=>(const TalosVersion& other) const {
    return std::tie(major, minor, patch) <=> std::tie(other.major, other.minor, other.patch);
  }
  std::string text() const;  // "v1.12.4", "v1.14.0-rc.1"
};

// The oldest version sbpipe supports (1.8.0–1.8.2 SecureBoot ISOs keep their
// EFI files only inside efiboot.img: docs/talos-versions.md), and the newest
// line: every patch and pre-release of it is supported.
inline constexpr int k_oldest_major = 1, k_oldest_minor = 8, k_oldest_patch = 3;
inline constexpr int k_newest_major = 1, k_newest_minor = 14;

// "v1.8.3 through the v1.14 line" (for messages and docs).
std::string supported_talos_range();

// Parses vMAJOR.MINOR.PATCH[-PRE]. usage error naming `what` and the rule,
// e.g. "--tag '1.12.4': a Talos version is vMAJOR.MINOR.PATCH[-PRE], such as
// v1.12.4 or v1.14.0-rc.1 (sbpipe supports v1.8.3 through the v1.14 line)".
Result<TalosVersion> parse_talos_version(std::string_view text, std::string_view what);

// The same, and inside the supported range: usage error naming the range
// otherwise.
Result<TalosVersion> supported_talos_version(std::string_view text, std::string_view what);

// The check of a release tag before anything else runs. `talos_version` is
// the config's imager.talos_version (for build repositories whose tags are
// not Talos versions): when set, it must be a supported Talos version and
// the tag only a plain image tag; otherwise the tag itself must be one.
// "latest" is refused either way: an installer a node boots is named by
// its version. usage errors, each naming the rule and the supported range.
Status check_release_tag(std::string_view tag, std::string_view talos_version);

}  // namespace sbpipe

#pragma once
// Signatures of a release's files: each asset and both checksum files get
// a sigstore bundle NAME.sigstore.json (sigstore/bundle.h: a v0.3
// messageSignature over the file's SHA-256, signed with the owner's key,
// no transparency-log entry). The name follows the sigstore convention for
// protobuf bundles (sigstore-python, GitHub's attestations), which every
// sigstore client reads: `cosign verify-blob --bundle` (v3), sigstore-js,
// sigstore-go. Talos's own `NAME.bundle` files (ci.yaml, "Sign artifacts")
// carry whichever of cosign's two bundle formats the signing cosign wrote,
// and a reader cannot tell which from the name.
// The asset bundles are assets themselves, listed in the checksum files;
// the checksum files' own bundles are not (they would sign themselves).

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "release/assets.h"
#include "sigstore/keys.h"

namespace sbpipe {

inline constexpr std::string_view k_bundle_suffix = ".sigstore.json";

// True for NAME.sigstore.json.
bool is_bundle_name(std::string_view name);
// NAME.sigstore.json for NAME.
std::string bundle_name(std::string_view name);

// The bundle of `asset` (its SHA-256 computed first when unknown), as an
// asset held in memory. io error when the file cannot be read.
Result<LocalAsset> sign_asset(LocalAsset& asset, const SigningKey& key);

// One line of verify-release's report.
struct ReleaseFileCheck {
  std::string name;
  std::string check;  // "bundle", "sha256sum.txt", "sha512sum.txt", "listed"
  bool ok = false;
  std::string detail;
  bool checked = true;  // false: a file nothing vouches for, reported and not judged
};

// Checks a downloaded release in `dir` with the public key: both checksum
// files are present and their bundles verify; every asset they list is
// present, has the listed SHA-256 and SHA-512, and (unless it is itself a
// bundle) a bundle that verifies; a file in `dir` that no checksum file
// lists (a dir: target's release.json, a stray download) is a row marked
// unchecked, neither ok nor failed. Never fails as a whole: every problem
// is a row.
std::vector<ReleaseFileCheck> verify_release_dir(const std::filesystem::path& dir, const PublicKey& key);

}  // namespace sbpipe

#pragma once
// The checksum files of a release, named as Talos's own releases name them
// (siderolabs/talos .github/workflows/ci.yaml at ad8823176e75, the release
// job: `sha256sum ... > sha256sum.txt`, `sha512sum ... > sha512sum.txt`),
// in sha256sum's format. sbpipe before 0.2 wrote one file called
// sha256sums.txt; it is still read (and replaced by the two on the next
// upload-assets), never written.

#include <map>
#include <string>
#include <string_view>

#include "core/error.h"
#include "release/assets.h"

namespace sbpipe {

inline constexpr std::string_view k_sha256_sums = "sha256sum.txt";
inline constexpr std::string_view k_sha512_sums = "sha512sum.txt";
inline constexpr std::string_view k_legacy_sha256_sums = "sha256sums.txt";

// True for the three names above and for the sigstore bundles of the
// first two (NAME.sigstore.json, release_signatures.h): files that
// describe the assets and are not listed themselves.
bool is_checksum_file(std::string_view name);

enum class DigestKind { sha256, sha512 };
std::string_view digest_name(DigestKind kind);
// The first 16 hex digits of a digest and "...", for messages.
std::string digest_prefix(const std::string& hex);

// Asset name → lowercase hex digest, sorted by name.
using ChecksumList = std::map<std::string, std::string>;

// sha256sum's text format: "<hex>  <name>\n" per asset, sorted by name.
std::string format_checksums(const ChecksumList& list);

// Parses sha256sum/sha512sum output (text or binary mode lines, any hex
// case). invalid_input naming `label` and the line for anything else,
// including a name listed twice or a digest of the wrong length.
Result<ChecksumList> parse_checksums(std::string_view text, DigestKind kind, std::string_view label);

// The checksum file `name` holding `list`, as an asset held in memory.
LocalAsset checksum_asset(std::string_view name, const ChecksumList& list);

}  // namespace sbpipe

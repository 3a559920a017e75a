#pragma once
// The files a release publishes, described once (name, size, sha256, media
// type) and shared by every publishing target (GitHub, a directory), plus
// the sha256sums.txt that lists them and the summary printed at the end.

#include <cstdint>
#include <functional>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/stream.h"

namespace sbpipe {

// GitHub: "each file included in a release must be under 2 GiB".
inline constexpr uint64_t kMaxAssetSize = uint64_t{2} << 30;
inline constexpr std::string_view kChecksumsName = "sha256sums.txt";

struct LocalAsset {
  std::string name;  // the asset name: the file's base name
  uint64_t size = 0;
  // Lowercase hex; empty until known. Publishing hashes a file while it
  // sends it, and before only when a published copy of the same size must
  // be compared, so a fresh upload reads each file once.
  std::string sha256;
  std::string content_type;
  std::string origin;  // the path it came from, or "(generated)"
  SourceOpener open;
};

// Names GitHub keeps as given: letters, digits, '.', '-', '_', '+', not
// starting or ending with '.', at most 255 characters. (GitHub rewrites
// other names, which would break sha256sums.txt and every link to them.)
Status check_asset_name(std::string_view name);

// The Content-Type an asset is uploaded with, from its extension.
std::string content_type_for(std::string_view name);

// Checks every file: a regular file, a usable and unique name, not
// sha256sums.txt, under max_size. usage errors for bad names and sizes;
// not_found/io for files. Does not read them.
Result<std::vector<LocalAsset>> describe_files(const std::vector<std::filesystem::path>& paths,
                                               uint64_t max_size = kMaxAssetSize);

// Hashes the asset's content (streamed) unless its sha256 is known. io
// error when the file changed size since it was described.
Status ensure_sha256(LocalAsset& asset);

// Opens the asset's content and hashes it as it is read: once the stream
// has ended with exactly asset.size bytes, asset.sha256 is set (or, when it
// was known, checked: a file changed while being published is an error).
// `asset` must outlive the stream.
Result<std::unique_ptr<ByteSource>> open_hashing(LocalAsset& asset);

// sha256sum's format ("<hex>  <name>\n"), sorted by name. Every sha256
// must be known.
std::string sha256sums_text(const std::vector<LocalAsset>& assets);

// The generated sha256sums.txt covering `assets`, as an asset held in memory.
LocalAsset checksums_asset(const std::vector<LocalAsset>& assets);

// Parses sha256sum output (text or binary mode lines). invalid_input naming
// `label` and the line for anything else, including a name listed twice.
Result<std::vector<std::pair<std::string, std::string>>> parse_sha256sums(std::string_view text, std::string_view label);

// Streams a source through SHA-256; returns the hex digest and the size.
Result<std::pair<std::string, uint64_t>> hash_source(ByteSource& source);

// Checks each (name, sha256) of a release's sha256sums.txt against the
// published copy, whose sha256 `published` returns. A not_found or
// invalid_input error from it is a problem with that asset (its message
// says which); any other error stops the check. Every problem is named in
// one invalid_input error about `what`.
using PublishedDigest = std::function<Result<std::string>(const std::string& name)>;
Status check_listed_assets(const std::vector<std::pair<std::string, std::string>>& listed,
                           const PublishedDigest& published, std::string_view what);

enum class AssetOutcome { uploaded, replaced, unchanged };
std::string_view outcome_name(AssetOutcome outcome);

struct AssetReport {
  std::string name;
  AssetOutcome outcome = AssetOutcome::unchanged;
  uint64_t size = 0;
  std::string sha256;
};

// A fixed-width table (name, outcome, size, sha256 prefix) and a count line.
std::string report_table(const std::vector<AssetReport>& reports);
nlohmann::json report_json(const std::vector<AssetReport>& reports);

} // namespace sbpipe

#pragma once
// The files a release publishes, described once (name, size, digests, media
// type) and shared by every publishing target (GitHub, a directory), plus
// the summary printed at the end.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/sha256.h"
#include "core/stream.h"

namespace sbpipe {

// GitHub: "each file included in a release must be under 2 GiB".
inline constexpr uint64_t k_max_asset_size = uint64_t{2} << 30;

struct LocalAsset {
  std::string name;  // the asset name: the file's base name
  uint64_t size = 0;
  // Lowercase hex; empty until known. Publishing hashes a file while it
  // sends it, and before only when a published copy of the same size must
  // be compared, so a fresh upload reads each file once. Both digests are
  // computed in the same pass.
  std::string sha256;
  std::string sha512;
  std::string content_type;
  std::string origin;  // the path it came from, or "(generated)"
  SourceOpener open;
};

// Names GitHub keeps as given: letters, digits, '.', '-', '_', '+', not
// starting or ending with '.', at most 255 characters. (GitHub rewrites
// other names, which would break the checksum files and every link to them.)
// usage error naming the name and the reason.
Status check_asset_name(std::string_view name);

// The Content-Type an asset is uploaded with, from its extension.
std::string content_type_for(std::string_view name);

// Checks every file: a regular file, a usable and unique name, not one of
// the checksum files sbpipe writes, under max_size. usage errors for bad
// names and sizes; not_found/io for files. Does not read them.
Result<std::vector<LocalAsset>> describe_files(const std::vector<std::filesystem::path>& paths,
                                               uint64_t max_size = k_max_asset_size);

// A file published under another name than its own (imager's kernel-amd64
// as vmlinuz-amd64). An empty name means the file's base name.
struct NamedFile {
  std::filesystem::path path;
  std::string name;
};
Result<std::vector<LocalAsset>> describe_files(const std::vector<NamedFile>& files, uint64_t max_size = k_max_asset_size);

// "PATH=NAME" as a command line gives it: a NamedFile; a PATH that exists
// as written, or holds no '=', names itself.
NamedFile parse_named_file(const std::string& argument);

// An asset held in memory (the generated checksum files).
LocalAsset memory_asset(std::string name, std::string content);

// Hashes the asset's content (streamed) unless both digests are known. io
// error when the file changed size since it was described.
Status ensure_digests(LocalAsset& asset);

// Opens the asset's content and hashes it as it is read: once the stream
// has ended with exactly asset.size bytes, asset.sha256 and asset.sha512 are
// set (or, when known, checked: a file changed while being published is an
// error). `asset` must outlive the stream.
Result<std::unique_ptr<ByteSource>> open_hashing(LocalAsset& asset);

struct Digests {
  std::string sha256;  // lowercase hex
  std::string sha512;
  uint64_t size = 0;
};

// Both digests of a stream, in one pass.
class DigestPair {
public:
  void update(std::span<const char> chunk);
  Digests finish();  // the object must not be used afterwards

private:
  Sha256 m_sha256;
  Sha512 m_sha512;
  uint64_t m_size = 0;
};

// Streams a source through SHA-256 and SHA-512.
Result<Digests> hash_source(ByteSource& source);

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

}  // namespace sbpipe

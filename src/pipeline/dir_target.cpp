#include "pipeline/dir_target.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <system_error>

#include "core/file.h"
#include "core/progress.h"

namespace sbpipe {
namespace {

using nlohmann::json;

constexpr std::string_view kReleaseJson = "release.json";

// sha256 and size of a local file, or nullopt when it does not exist.
Result<std::optional<std::pair<std::string, uint64_t>>> hash_existing(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return std::optional<std::pair<std::string, uint64_t>>();
  auto source = file_opener(path)();
  if (!source) return fail(source.error());
  auto hashed = hash_source(**source);
  if (!hashed) return fail(hashed.error().with_context(path.string()));
  return std::optional<std::pair<std::string, uint64_t>>(*hashed);
}

Result<json> read_release_json(const std::filesystem::path& path) {
  auto text = read_small_file(path);
  if (!text) {
    if (text.error().kind() == ErrorKind::not_found) return json::object();
    return fail(text.error());
  }
  auto parsed = json::parse(*text, nullptr, false);
  if (!parsed.is_object()) return fail(ErrorKind::invalid_input, path.string() + ": not a JSON object");
  return parsed;
}

Status write_json_if_changed(const std::filesystem::path& path, const json& before, const json& after, bool& changed) {
  changed = before != after;
  if (!changed) return {};
  return write_file_atomically(path, after.dump(2) + "\n");
}

} // namespace

Result<std::optional<std::filesystem::path>> parse_publish_target(std::string_view target) {
  if (target == "github") return std::optional<std::filesystem::path>();
  if (target.starts_with("dir:") && target.size() > 4) return std::optional<std::filesystem::path>(target.substr(4));
  return fail(ErrorKind::usage, "--target '" + std::string(target) + "': expected github or dir:PATH");
}

namespace {

// Writes one asset into `dir` unless a file with the same size and sha256
// is there already.
Result<AssetReport> publish_file(const std::filesystem::path& dir, LocalAsset& asset) {
  auto path = dir / asset.name;
  std::error_code ec;
  bool exists = std::filesystem::is_regular_file(path, ec);
  if (exists && std::filesystem::file_size(path, ec) == asset.size) {
    auto existing = hash_existing(path);
    if (!existing) return fail(existing.error());
    if (auto st = ensure_sha256(asset); !st) return fail(st.error());
    if (*existing && (*existing)->first == asset.sha256)
      return AssetReport{asset.name, AssetOutcome::unchanged, asset.size, asset.sha256};
  }
  auto source = open_hashing(asset);
  if (!source) return fail(source.error());
  auto written = write_atomically(path, **source);
  if (!written) return fail(written.error());
  auto outcome = exists ? AssetOutcome::replaced : AssetOutcome::uploaded;
  spdlog::info("{} {} ({})", exists ? "replaced" : "wrote", path.string(), format_bytes(asset.size));
  return AssetReport{asset.name, outcome, asset.size, asset.sha256};
}

} // namespace

Result<std::vector<AssetReport>> publish_to_directory(const std::filesystem::path& root, const std::string& tag,
                                                      std::vector<LocalAsset>& files, const DirPublishOptions& options) {
  if (auto st = check_asset_name(tag); !st) return fail(ErrorKind::usage, "--tag '" + tag + "': not usable as a directory name");
  auto dir = root / tag;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fail(ErrorKind::io, dir.string() + ": cannot create: " + ec.message());
  auto manifest_path = dir / kReleaseJson;
  auto before = read_release_json(manifest_path);
  if (!before) return fail(before.error());
  if (before->value("prerelease", true) == false && !options.allow_published)
    return fail(ErrorKind::permanent, manifest_path.string() +
                                          " says the release is already published; refusing to change its files (--allow-published)");

  std::vector<AssetReport> reports;
  for (auto& file : files) {
    auto report = publish_file(dir, file);
    if (!report) return fail(report.error());
    reports.push_back(std::move(*report));
  }
  LocalAsset sums = checksums_asset(files);
  auto report = publish_file(dir, sums);
  if (!report) return fail(report.error());
  reports.push_back(std::move(*report));

  json listed = json::array();
  for (const auto& r : reports) listed.push_back({{"name", r.name}, {"size", r.size}, {"sha256", r.sha256}});
  json after = *before;
  after["tag"] = tag;
  if (!options.repository.empty()) after["repository"] = options.repository;
  if (!after.contains("prerelease")) after["prerelease"] = true;
  after["assets"] = listed;
  bool changed = false;
  if (auto st = write_json_if_changed(manifest_path, *before, after, changed); !st) return fail(st.error());
  return reports;
}

Result<DirFinalizeResult> finalize_directory(const std::filesystem::path& root, const std::string& tag,
                                             const ReleaseFacts& facts) {
  auto dir = root / tag;
  auto sums_path = dir / kChecksumsName;
  auto text = read_small_file(sums_path);
  if (!text) {
    if (text.error().kind() == ErrorKind::not_found)
      return fail(ErrorKind::invalid_input, sums_path.string() + ": missing: run upload-assets first; release left as it was");
    return fail(text.error());
  }
  auto listed = parse_sha256sums(*text, sums_path.string());
  if (!listed) return fail(listed.error());
  auto published = [&](const std::string& name) -> Result<std::string> {
    if (auto st = check_asset_name(name); !st)
      return fail(ErrorKind::invalid_input, "'" + name + "' is not a file name sbpipe publishes");
    auto existing = hash_existing(dir / name);
    if (!existing) return fail(existing.error());
    if (!*existing) return fail(ErrorKind::not_found, name + " is missing");
    return (*existing)->first;
  };
  if (auto st = check_listed_assets(*listed, published, dir.string()); !st) return fail(st.error());
  DirFinalizeResult result{dir / kReleaseJson, false, *listed};
  auto before = read_release_json(result.release_json);
  if (!before) return fail(before.error());
  ReleaseFacts with_sums = facts;
  with_sums.checksums = *listed;
  json after = *before;
  after["tag"] = tag;
  after["prerelease"] = false;
  if (!facts.installer_ref.empty()) after["installer"] = facts.installer_ref;
  if (!facts.source_commit.empty()) after["source"] = {{"commit", facts.source_commit}, {"url", facts.source_url}};
  after["notes"] = merge_notes(before->value("notes", ""), notes_section(with_sums));
  if (auto st = write_json_if_changed(result.release_json, *before, after, result.changed); !st) return fail(st.error());
  if (!result.changed) spdlog::info("{} is already released with these notes; nothing to change", dir.string());
  return result;
}

} // namespace sbpipe

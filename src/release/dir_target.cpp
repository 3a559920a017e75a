#include "release/dir_target.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <system_error>

#include <unistd.h>

#include "core/file.h"
#include "core/progress.h"

namespace sbpipe {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::string_view k_release_json = "release.json";

// write_atomically's temporary files: ".<name>.sbpipe-<n>" beside the file.
bool is_temporary(std::string_view name) {
  return name.size() > 1 && name.front() == '.' && name.find(".sbpipe-") != std::string_view::npos;
}

Result<Digests> hash_file(const fs::path& path) {
  auto source = file_opener(path)();
  if (!source) return fail(source.error());
  auto hashed = hash_source(**source);
  if (!hashed) return fail(hashed.error().with_context(path.string()));
  return hashed;
}

}  // namespace

Result<std::unique_ptr<DirTarget>> DirTarget::create(fs::path root, std::string tag, std::string repository) {
  if (auto st = check_asset_name(tag); !st)
    return fail(ErrorKind::usage, "--tag '" + tag + "': not usable as a directory name under " + root.string());
  auto dir = root / tag;
  return std::unique_ptr<DirTarget>(new DirTarget(std::move(dir), std::move(tag), std::move(repository)));
}

ReleaseInfo DirTarget::info() const {
  ReleaseInfo out;
  out.tag = m_release_json.value("tag", m_tag);
  out.state = m_release_json.value("prerelease", true) ? ReleaseState::prerelease : ReleaseState::released;
  out.notes = m_release_json.value("notes", "");
  out.location = m_release_json_path.string();
  return out;
}

Result<std::string> DirTarget::check_access() {
  std::error_code ec;
  fs::path dir = m_dir;
  while (!dir.empty() && !fs::exists(dir, ec) && dir != dir.parent_path()) dir = dir.parent_path();
  if (dir.empty()) dir = ".";
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    return fail(ErrorKind::io, dir.string() + ": not writable by this user (publishing writes " + m_dir.string() + ")");
  return dir.string() + " is writable";
}

Result<ReleaseInfo> DirTarget::open(OpenFor purpose) {
  std::error_code ec;
  if (!fs::is_directory(m_dir, ec)) {
    if (purpose == OpenFor::finalize)
      return fail(ErrorKind::not_found, m_dir.string() + ": no such release directory: run upload-assets first");
    m_release_json = json::object();
    return info();
  }
  auto text = read_small_file(m_release_json_path);
  if (!text) {
    if (text.error().kind() != ErrorKind::not_found) return fail(text.error());
    m_release_json = json::object();
  } else {
    auto parsed = json::parse(*text, nullptr, false);
    if (!parsed.is_object() || (parsed.contains("prerelease") && !parsed["prerelease"].is_boolean()) ||
        (parsed.contains("tag") && !parsed["tag"].is_string()) || (parsed.contains("notes") && !parsed["notes"].is_string()))
      return fail(ErrorKind::invalid_input, m_release_json_path.string() + ": not a release.json sbpipe wrote");
    m_release_json = std::move(parsed);
  }
  return info();
}

Result<std::vector<PublishedAsset>> DirTarget::assets() {
  std::vector<PublishedAsset> out;
  std::error_code ec;
  if (!fs::is_directory(m_dir, ec)) return out;
  for (const auto& entry : fs::directory_iterator(m_dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name == k_release_json) continue;
    PublishedAsset asset;
    asset.name = name;
    auto status = entry.symlink_status(ec);
    if (fs::is_regular_file(status)) {
      asset.size = entry.file_size(ec);
      asset.complete = !is_temporary(name);
      asset.state = asset.complete ? "file" : "temporary file of an interrupted write";
    } else {
      asset.complete = false;
      asset.state = "not a regular file";
    }
    out.push_back(std::move(asset));
  }
  if (ec) return fail(ErrorKind::io, m_dir.string() + ": " + ec.message());
  std::sort(out.begin(), out.end(), [](const PublishedAsset& a, const PublishedAsset& b) { return a.name < b.name; });
  return out;
}

Status DirTarget::read(const PublishedAsset& asset, const std::function<Status(std::span<const char>)>& sink) {
  auto path = m_dir / asset.name;
  std::error_code ec;
  if (!fs::is_regular_file(fs::symlink_status(path, ec))) return fail(ErrorKind::not_found, asset.name + " is missing");
  auto source = file_opener(path)();
  if (!source) return fail(source.error());
  auto st = drain(**source, sink);
  if (!st) return fail(st.error().with_context(path.string()));
  return {};
}

Status DirTarget::clean_up(std::vector<LocalAsset>&) {
  auto listed = assets();
  if (!listed) return fail(listed.error());
  for (const auto& asset : *listed) {
    if (!is_temporary(asset.name) || asset.state == "not a regular file") continue;
    spdlog::info("removing {} (left by an interrupted write)", (m_dir / asset.name).string());
    std::error_code ec;
    fs::remove(m_dir / asset.name, ec);
    if (ec) return fail(ErrorKind::io, (m_dir / asset.name).string() + ": " + ec.message());
  }
  return {};
}

Result<AssetOutcome> DirTarget::put(LocalAsset& asset) {
  std::error_code ec;
  fs::create_directories(m_dir, ec);
  if (ec) return fail(ErrorKind::io, m_dir.string() + ": cannot create: " + ec.message());
  auto path = m_dir / asset.name;
  bool exists = fs::is_regular_file(fs::symlink_status(path, ec));
  if (exists && fs::file_size(path, ec) == asset.size) {
    auto existing = hash_file(path);
    if (!existing) return fail(existing.error());
    if (auto st = ensure_digests(asset); !st) return fail(st.error());
    if (existing->sha256 == asset.sha256) return AssetOutcome::unchanged;
  }
  auto source = open_hashing(asset);
  if (!source) return fail(source.error());
  auto written = write_atomically(path, **source);
  if (!written) return fail(written.error());
  spdlog::debug("{} {} ({})", exists ? "replaced" : "wrote", path.string(), format_bytes(asset.size));
  return exists ? AssetOutcome::replaced : AssetOutcome::uploaded;
}

Status DirTarget::remove(const std::string& name) {
  std::error_code ec;
  fs::remove(m_dir / name, ec);
  if (ec) return fail(ErrorKind::io, (m_dir / name).string() + ": " + ec.message());
  return {};
}

Status DirTarget::write_release_json(const json& after) {
  if (after == m_release_json && fs::exists(m_release_json_path)) return {};
  if (auto st = write_file_atomically(m_release_json_path, after.dump(2) + "\n"); !st) return st;
  m_release_json = after;
  return {};
}

Status DirTarget::record(const ChecksumList& sha256) {
  auto listed = assets();
  if (!listed) return fail(listed.error());
  json files = json::array();
  for (const auto& asset : *listed) {
    auto it = sha256.find(asset.name);
    if (it != sha256.end()) files.push_back({{"name", asset.name}, {"size", asset.size}, {"sha256", it->second}});
  }
  json after = m_release_json;
  after["tag"] = m_tag;
  if (!m_repository.empty()) after["repository"] = m_repository;
  if (!after.contains("prerelease")) after["prerelease"] = true;
  after["assets"] = files;
  return write_release_json(after);
}

Result<ReleaseInfo> DirTarget::mark_released(const std::string& notes, const ReleaseFacts& facts, MakeLatest) {
  json after = m_release_json;
  after["tag"] = m_tag;
  after["prerelease"] = false;
  if (!facts.installer_ref.empty()) after["installer"] = facts.installer_ref;
  if (!facts.source_commit.empty()) after["source"] = {{"commit", facts.source_commit}, {"url", facts.source_url}};
  after["notes"] = notes;
  if (auto st = write_release_json(after); !st) return fail(st.error());
  return info();
}

}  // namespace sbpipe

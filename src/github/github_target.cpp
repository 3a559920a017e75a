#include "github/github_target.h"

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <algorithm>

#include "core/progress.h"
#include "core/sha256.h"

namespace sbpipe {
namespace {

// A stream that owns its source and logs progress as it is read.
class OwnedProgress final : public ByteSource {
public:
  OwnedProgress(std::unique_ptr<ByteSource> inner, Clock& clock, std::string label, uint64_t total)
      : m_inner(std::move(inner)), m_progress(*m_inner, clock, std::move(label), total) {}
  Result<size_t> read(std::span<char> buffer) override { return m_progress.read(buffer); }

private:
  std::unique_ptr<ByteSource> m_inner;
  ProgressSource m_progress;
};

ReleaseInfo info_of(const Release& release) {
  ReleaseInfo info;
  info.tag = release.tag_name;
  info.state = release.draft ? ReleaseState::draft : release.prerelease ? ReleaseState::prerelease : ReleaseState::released;
  info.notes = release.body;
  info.location = release.html_url;
  info.id = release.id;
  return info;
}

}  // namespace

GitHubTarget::GitHubTarget(GitHubApi& api, Clock& clock, GitHubTargetOptions options)
    : m_api(api), m_clock(clock), m_options(std::move(options)), m_rng(std::random_device{}()) {}

std::string GitHubTarget::what() const { return "release " + m_options.tag + " of " + m_options.repo.str(); }

Result<std::string> GitHubTarget::check_access() {
  const std::string repo = m_options.repo.str();
  const std::string token = m_api.token_source().empty() ? "the token" : "the token from " + m_api.token_source();
  const std::string remedy =
      "; create a fine-grained token for " + repo + " with Contents: read and write, or a classic token with the repo scope";
  auto access = m_api.repo_access(m_options.repo);
  if (!access) {
    if (access.error().kind() == ErrorKind::not_found)
      return fail(ErrorKind::auth,
                  token + " cannot see " + repo +
                      " (GitHub answers 404 for a repository the token has no access to, or that does not exist)" + remedy);
    return fail(access.error());
  }
  std::string scopes;
  if (access->scopes)
    for (const auto& s : *access->scopes) scopes += (scopes.empty() ? "" : ", ") + s;
  if (access->scopes) {
    auto has = [&](std::string_view name) {
      return std::find(access->scopes->begin(), access->scopes->end(), name) != access->scopes->end();
    };
    if (!has("repo") && !(has("public_repo") && !access->is_private))
      return fail(ErrorKind::auth, token + " is a classic token without the repo scope (it has: " +
                                       (scopes.empty() ? "none" : scopes) + ")" + remedy);
  }
  if (!access->push)
    return fail(ErrorKind::auth, token + " lacks push access to " + repo + " (the account may only read it)" + remedy);
  return token + " may push to " + repo +
         (access->scopes ? " (classic token: " + scopes + ")"
                         : " (a fine-grained token's Contents permission shows when assets are uploaded)");
}

Result<ReleaseInfo> GitHubTarget::open(OpenFor) {
  auto release = m_options.release_id ? m_api.get_release(m_options.repo, *m_options.release_id)
                                      : m_api.find_release(m_options.repo, m_options.tag);
  if (!release) return fail(release.error());
  m_release = std::move(*release);
  m_assets.reset();
  m_ready_temp.clear();
  return info_of(*m_release);
}

Result<std::vector<ReleaseAsset>*> GitHubTarget::listing() {
  if (!m_release) return fail(ErrorKind::permanent, what() + ": not looked up yet");
  if (!m_assets) {
    auto listed = m_api.list_assets(m_options.repo, m_release->id);
    if (!listed) return fail(listed.error());
    m_assets = std::move(*listed);
  }
  return &*m_assets;
}

ReleaseAsset* GitHubTarget::listed(const std::string& name) {
  if (!m_assets) return nullptr;
  for (auto& asset : *m_assets)
    if (asset.name == name) return &asset;
  return nullptr;
}

Result<std::vector<PublishedAsset>> GitHubTarget::assets() {
  auto all = listing();
  if (!all) return fail(all.error());
  std::vector<PublishedAsset> out;
  for (const auto& asset : **all) {
    bool held = std::any_of(m_ready_temp.begin(), m_ready_temp.end(), [&](const auto& kv) { return kv.second.id == asset.id; });
    if (held) continue;
    out.push_back(PublishedAsset{asset.name, asset.size, asset.state == "uploaded", asset.state, asset.sha256});
  }
  return out;
}

Status GitHubTarget::read(const PublishedAsset& asset, const std::function<Status(std::span<const char>)>& sink) {
  if (auto all = listing(); !all) return fail(all.error());
  const ReleaseAsset* remote = listed(asset.name);
  if (remote == nullptr) return fail(ErrorKind::not_found, asset.name + " is missing");
  return m_api.download_asset(m_options.repo, remote->id, sink);
}

Result<std::string> GitHubTarget::remote_sha256(const ReleaseAsset& asset) {
  if (asset.sha256) return *asset.sha256;
  spdlog::info("{}: GitHub has no digest for it; downloading to compare", asset.name);
  Sha256 hash;
  auto st = m_api.download_asset(m_options.repo, asset.id, [&](std::span<const char> chunk) -> Status {
    hash.update(chunk);
    return {};
  });
  if (!st) return fail(st.error());
  return hash.finish_hex();
}

Result<bool> GitHubTarget::matches(const ReleaseAsset& remote, LocalAsset& local) {
  if (remote.state != "uploaded" || remote.size != local.size) return false;
  if (auto st = ensure_digests(local); !st) return fail(st.error());
  auto hex = remote_sha256(remote);
  if (!hex) return fail(hex.error());
  return *hex == local.sha256;
}

Status GitHubTarget::delete_asset(const ReleaseAsset& asset) {
  int64_t id = asset.id;
  if (auto st = m_api.delete_asset(m_options.repo, id); !st) return st;
  if (m_assets) std::erase_if(*m_assets, [&](const ReleaseAsset& a) { return a.id == id; });
  return {};
}

Status GitHubTarget::clean_up(std::vector<LocalAsset>& files) {
  auto all = listing();
  if (!all) return fail(all.error());
  std::map<std::string, LocalAsset*> wanted;
  for (auto& f : files) wanted[f.name] = &f;
  std::vector<ReleaseAsset> snapshot = **all;
  for (const auto& asset : snapshot) {
    bool temp = asset.name.starts_with(k_temp_asset_prefix);
    if (asset.state == "uploaded" && !temp) continue;
    if (temp && asset.state == "uploaded") {
      std::string final_name = asset.name.substr(k_temp_asset_prefix.size());
      auto it = wanted.find(final_name);
      if (it != wanted.end()) {
        auto same = matches(asset, *it->second);
        if (!same) return fail(same.error());
        if (*same) {
          spdlog::info("{}: a complete upload from an earlier run is in place as {}; reusing it", final_name, asset.name);
          m_ready_temp[final_name] = asset;
          continue;
        }
      }
    }
    spdlog::info("deleting leftover asset {} (state {}) from an earlier run", asset.name, asset.state);
    if (auto st = delete_asset(asset); !st) return st;
  }
  return {};
}

// One upload, recovered when it fails half-way: GitHub may have kept a
// starter/open asset (which blocks the name) or even completed it.
Result<ReleaseAsset> GitHubTarget::upload(LocalAsset& local, const std::string& name) {
  SourceOpener open = [&]() -> Result<std::unique_ptr<ByteSource>> {
    auto inner = open_hashing(local);
    if (!inner) return fail(inner.error());
    return std::unique_ptr<ByteSource>(
        std::make_unique<OwnedProgress>(std::move(*inner), m_clock, "uploading " + name, local.size));
  };
  for (int attempt = 1;; ++attempt) {
    auto uploaded = m_api.upload_asset(*m_release, name, local.content_type, local.size, open);
    if (uploaded) {
      // The digest GitHub computed must be the one sbpipe computed while sending.
      if (uploaded->size != local.size || local.sha256.empty() || (uploaded->sha256 && *uploaded->sha256 != local.sha256))
        return fail(ErrorKind::permanent, "GitHub stored " + name + " with other content than sent (size " +
                                              std::to_string(uploaded->size) + ", expected " + std::to_string(local.size) + ")");
      m_assets->push_back(*uploaded);
      return uploaded;
    }
    const Error& error = uploaded.error();
    bool conflict = error.kind() == ErrorKind::conflict;
    if (!error.retryable() && !conflict) return fail(error);
    m_assets.reset();  // what GitHub kept of the failed upload: list again
    auto all = listing();
    if (!all) return fail(all.error());
    if (ReleaseAsset* existing = listed(name)) {
      ReleaseAsset found = *existing;
      auto same = matches(found, local);
      if (!same) return fail(same.error());
      if (*same) return found;  // the upload did complete
      if (found.state == "uploaded")
        return fail(ErrorKind::permanent, "GitHub: upload " + name +
                                              ": another asset of that name appeared meanwhile "
                                              "(is another run publishing this release?)");
      spdlog::warn("{}: the failed upload left an asset in state {}; deleting it", name, found.state);
      if (auto st = delete_asset(found); !st) return fail(st.error());
    } else if (conflict) {
      return fail(error);  // the name was taken and freed again: give up rather than race
    }
    if (attempt >= m_options.policy.max_attempts) return fail(error);
    spdlog::warn("{}; retrying the upload", error.message());
    m_clock.sleep_for(backoff_delay(m_options.policy, attempt, m_rng));
  }
}

Result<AssetOutcome> GitHubTarget::put(LocalAsset& local) {
  if (auto all = listing(); !all) return fail(all.error());
  ReleaseAsset* existing = listed(local.name);
  if (existing != nullptr && existing->state != "uploaded") existing = nullptr;  // clean_up deletes those
  auto ready = m_ready_temp.find(local.name);
  if (existing == nullptr) {
    if (ready != m_ready_temp.end()) {
      // A crash between "delete old" and "rename new": finish the rename.
      auto renamed = m_api.rename_asset(m_options.repo, ready->second.id, local.name);
      if (!renamed) return fail(renamed.error());
      if (ReleaseAsset* temp = listed(ready->second.name)) *temp = *renamed;
      m_ready_temp.erase(ready);
      return AssetOutcome::replaced;
    }
    auto uploaded = upload(local, local.name);
    if (!uploaded) return fail(uploaded.error());
    spdlog::debug("uploaded {} ({})", local.name,
                  format_bytes(local.size));  // the caller says it once (its table, run's step line)
    return AssetOutcome::uploaded;
  }
  ReleaseAsset old = *existing;
  auto same = matches(old, local);
  if (!same) return fail(same.error());
  if (*same) {
    spdlog::info("{} is already published with the same content", local.name);
    return AssetOutcome::unchanged;
  }
  ReleaseAsset replacement;
  if (ready != m_ready_temp.end()) {
    replacement = ready->second;
    m_ready_temp.erase(ready);
  } else {
    auto uploaded = upload(local, std::string(k_temp_asset_prefix) + local.name);
    if (!uploaded) return fail(uploaded.error());
    replacement = *uploaded;
  }
  if (auto st = delete_asset(old); !st) return fail(st.error());
  auto renamed = m_api.rename_asset(m_options.repo, replacement.id, local.name);
  if (!renamed) return fail(renamed.error());
  if (ReleaseAsset* temp = listed(replacement.name)) *temp = *renamed;
  spdlog::debug("replaced {} ({})", local.name, format_bytes(local.size));
  return AssetOutcome::replaced;
}

Status GitHubTarget::remove(const std::string& name) {
  if (auto all = listing(); !all) return fail(all.error());
  const ReleaseAsset* asset = listed(name);
  if (asset == nullptr) return {};
  return delete_asset(*asset);
}

Result<ReleaseInfo> GitHubTarget::mark_released(const std::string& notes, const ReleaseFacts&, MakeLatest latest) {
  if (!m_release) return fail(ErrorKind::permanent, what() + ": not looked up yet");
  nlohmann::json patch = nlohmann::json::object();
  if (notes != m_release->body) patch["body"] = notes;
  if (!m_release->is_full_release()) {
    patch["prerelease"] = false;
    if (m_release->draft) patch["draft"] = false;
    patch["make_latest"] = latest == MakeLatest::yes ? "true" : "false";
  }
  if (patch.empty()) return info_of(*m_release);
  auto updated = m_api.update_release(m_options.repo, m_release->id, patch);
  if (!updated) return fail(updated.error());
  m_release = std::move(*updated);
  return info_of(*m_release);
}

}  // namespace sbpipe

#include "github/publish.h"

#include <spdlog/spdlog.h>

#include <map>
#include <optional>
#include <random>

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

class Publisher {
public:
  Publisher(GitHubApi& api, Clock& clock, const RepoName& repo, const Release& release, const PublishOptions& options)
      : m_api(api), m_clock(clock), m_repo(repo), m_release(release), m_options(options), m_rng(std::random_device{}()) {}

  Status clean_up(std::vector<ReleaseAsset>& remote, std::vector<LocalAsset>& assets);
  Result<AssetReport> publish(LocalAsset& asset);

private:
  Result<bool> matches(const ReleaseAsset& remote, LocalAsset& local);
  Result<ReleaseAsset> upload(LocalAsset& local, const std::string& name);
  Result<std::optional<ReleaseAsset>> find(const std::string& name);

  GitHubApi& m_api;
  Clock& m_clock;
  const RepoName& m_repo;
  const Release& m_release;
  const PublishOptions& m_options;
  std::mt19937 m_rng;
  std::map<std::string, ReleaseAsset> m_by_name;     // uploaded assets under their own names
  std::map<std::string, ReleaseAsset> m_ready_temp;  // complete temporary assets, by final name
};

Result<bool> Publisher::matches(const ReleaseAsset& remote, LocalAsset& local) {
  if (remote.state != "uploaded" || remote.size != local.size) return false;
  if (auto st = ensure_sha256(local); !st) return fail(st.error());
  auto hex = remote_sha256(m_api, m_repo, remote);
  if (!hex) return fail(hex.error());
  return *hex == local.sha256;
}

Status Publisher::clean_up(std::vector<ReleaseAsset>& remote, std::vector<LocalAsset>& assets) {
  std::map<std::string, LocalAsset*> wanted;
  for (auto& a : assets) wanted[a.name] = &a;
  for (const auto& asset : remote) {
    bool temp = asset.name.starts_with(kTempAssetPrefix);
    if (asset.state == "uploaded" && !temp) {
      m_by_name[asset.name] = asset;
      continue;
    }
    if (temp && asset.state == "uploaded") {
      std::string final_name = asset.name.substr(kTempAssetPrefix.size());
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
    if (auto st = m_api.delete_asset(m_repo, asset.id); !st) return st;
  }
  return {};
}

Result<std::optional<ReleaseAsset>> Publisher::find(const std::string& name) {
  auto listed = m_api.list_assets(m_repo, m_release.id);
  if (!listed) return fail(listed.error());
  for (auto& asset : *listed)
    if (asset.name == name) return std::optional<ReleaseAsset>(std::move(asset));
  return std::optional<ReleaseAsset>();
}

// One upload, recovered when it fails half-way: GitHub may have kept a
// starter asset (which blocks the name) or even completed it.
Result<ReleaseAsset> Publisher::upload(LocalAsset& local, const std::string& name) {
  SourceOpener open = [&]() -> Result<std::unique_ptr<ByteSource>> {
    auto inner = open_hashing(local);
    if (!inner) return fail(inner.error());
    return std::unique_ptr<ByteSource>(std::make_unique<OwnedProgress>(std::move(*inner), m_clock, "uploading " + name, local.size));
  };
  for (int attempt = 1;; ++attempt) {
    auto uploaded = m_api.upload_asset(m_release, name, local.content_type, local.size, open);
    if (uploaded) {
      // The digest GitHub computed must be the one sbpipe computed while sending.
      if (uploaded->size != local.size || local.sha256.empty() || (uploaded->sha256 && *uploaded->sha256 != local.sha256))
        return fail(ErrorKind::permanent, "GitHub stored " + name + " with other content than sent (size " +
                                              std::to_string(uploaded->size) + ", expected " + std::to_string(local.size) + ")");
      return uploaded;
    }
    const Error& error = uploaded.error();
    bool conflict = error.kind() == ErrorKind::conflict;
    if (!error.retryable() && !conflict) return fail(error);
    auto existing = find(name);
    if (!existing) return fail(existing.error());
    if (*existing) {
      auto same = matches(**existing, local);
      if (!same) return fail(same.error());
      if (*same) return **existing;  // the upload did complete
      if ((*existing)->state == "uploaded")
        return fail(ErrorKind::permanent, "GitHub: upload " + name + ": another asset of that name appeared meanwhile "
                                          "(is another run publishing this release?)");
      spdlog::warn("{}: the failed upload left an asset in state {}; deleting it", name, (*existing)->state);
      if (auto st = m_api.delete_asset(m_repo, (*existing)->id); !st) return fail(st.error());
    } else if (conflict) {
      return fail(error);  // the name was taken and freed again: give up rather than race
    }
    if (attempt >= m_options.policy.max_attempts) return fail(error);
    spdlog::warn("{}; retrying the upload", error.message());
    m_clock.sleep_for(backoff_delay(m_options.policy, attempt, m_rng));
  }
}

Result<AssetReport> Publisher::publish(LocalAsset& local) {
  auto report = [&](AssetOutcome outcome) { return AssetReport{local.name, outcome, local.size, local.sha256}; };
  auto existing = m_by_name.find(local.name);
  if (existing == m_by_name.end()) {
    if (auto ready = m_ready_temp.find(local.name); ready != m_ready_temp.end()) {
      // A crash between "delete old" and "rename new": finish the rename.
      auto renamed = m_api.rename_asset(m_repo, ready->second.id, local.name);
      if (!renamed) return fail(renamed.error());
      return report(AssetOutcome::replaced);
    }
    auto uploaded = upload(local, local.name);
    if (!uploaded) return fail(uploaded.error());
    spdlog::info("uploaded {} ({})", local.name, format_bytes(local.size));
    return report(AssetOutcome::uploaded);
  }
  auto same = matches(existing->second, local);
  if (!same) return fail(same.error());
  if (*same) {
    spdlog::info("{} is already published with the same content", local.name);
    return report(AssetOutcome::unchanged);
  }
  ReleaseAsset replacement;
  if (auto ready = m_ready_temp.find(local.name); ready != m_ready_temp.end()) {
    replacement = ready->second;
  } else {
    auto uploaded = upload(local, std::string(kTempAssetPrefix) + local.name);
    if (!uploaded) return fail(uploaded.error());
    replacement = *uploaded;
  }
  if (auto st = m_api.delete_asset(m_repo, existing->second.id); !st) return fail(st.error());
  auto renamed = m_api.rename_asset(m_repo, replacement.id, local.name);
  if (!renamed) return fail(renamed.error());
  spdlog::info("replaced {} ({})", local.name, format_bytes(local.size));
  return report(AssetOutcome::replaced);
}

} // namespace

Result<std::string> remote_sha256(GitHubApi& api, const RepoName& repo, const ReleaseAsset& asset) {
  if (asset.sha256) return *asset.sha256;
  spdlog::info("{}: GitHub has no digest for it; downloading to compare", asset.name);
  Sha256 hash;
  auto st = api.download_asset(repo, asset.id, [&](std::span<const char> chunk) -> Status {
    hash.update(chunk);
    return {};
  });
  if (!st) return fail(st.error());
  return hash.finish_hex();
}

Result<std::vector<AssetReport>> publish_release_assets(GitHubApi& api, Clock& clock, const RepoName& repo,
                                                        const std::string& tag, std::vector<LocalAsset>& files,
                                                        const PublishOptions& options) {
  auto release = api.find_release(repo, tag);
  if (!release) return fail(release.error());
  if (release->is_full_release() && !options.allow_published)
    return fail(ErrorKind::permanent, "release " + tag + " of " + repo.str() +
                                          " is already a full release; refusing to change its assets (--allow-published)");
  auto remote = api.list_assets(repo, release->id);
  if (!remote) return fail(remote.error());
  Publisher publisher(api, clock, repo, *release, options);
  // A leftover temporary sha256sums.txt is deleted rather than reused: it
  // is small, and what it must hold is known only once every file is through.
  if (auto st = publisher.clean_up(*remote, files); !st) return fail(st.error());
  std::vector<AssetReport> reports;
  for (auto& file : files) {
    auto report = publisher.publish(file);
    if (!report) return fail(report.error());
    reports.push_back(std::move(*report));
  }
  LocalAsset sums = checksums_asset(files);
  auto report = publisher.publish(sums);
  if (!report) return fail(report.error());
  reports.push_back(std::move(*report));
  return reports;
}

} // namespace sbpipe

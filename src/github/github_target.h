#pragma once
// A GitHub release as a publishing target (release/target.h), found by id
// (the webhook's release.id: exactly the release a run was started for) or,
// for manual use, by tag.
//
// put() publishes idempotently and without ever leaving a name pointing at
// nothing for longer than one request:
//   - an asset with the same name and the same size and sha256 is kept;
//   - other content is uploaded under "sbpipe-tmp-<name>", then the old
//     asset is deleted and the new one renamed (PATCH): a crash leaves the
//     old asset or the new one under its name, never neither;
//   - an upload that fails half-way is recovered: GitHub may keep a
//     starter/open asset that blocks the name (deleted, then retried), or
//     may have completed it after all (kept).
// clean_up() deletes leftovers of earlier runs (assets not "uploaded",
// temporary names), except a complete temporary asset whose content is
// exactly a file being published, which put() renames instead of
// uploading again.

#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/clock.h"
#include "github/api.h"
#include "release/target.h"

namespace sbpipe {

inline constexpr std::string_view k_temp_asset_prefix = "sbpipe-tmp-";

struct GitHubTargetOptions {
  RepoName repo;
  std::string tag;
  std::optional<int64_t> release_id;  // set: look the release up by id, not by tag
  RetryPolicy policy;                 // for uploads that fail half-way
};

class GitHubTarget final : public ReleaseTarget {
public:
  GitHubTarget(GitHubApi& api, Clock& clock, GitHubTargetOptions options);

  std::string what() const override;
  Result<std::string> check_access() override;
  Result<ReleaseInfo> open(OpenFor purpose) override;
  Result<std::vector<PublishedAsset>> assets() override;
  Status read(const PublishedAsset& asset, const std::function<Status(std::span<const char>)>& sink) override;
  Status clean_up(std::vector<LocalAsset>& files) override;
  Result<AssetOutcome> put(LocalAsset& asset) override;
  Status remove(const std::string& name) override;
  Status record(const ChecksumList&) override { return {}; }
  Result<ReleaseInfo> mark_released(const std::string& notes, const ReleaseFacts& facts, MakeLatest latest) override;

private:
  Result<std::vector<ReleaseAsset>*> listing();
  ReleaseAsset* listed(const std::string& name);
  Result<bool> matches(const ReleaseAsset& remote, LocalAsset& local);
  Result<std::string> remote_sha256(const ReleaseAsset& asset);
  Result<ReleaseAsset> upload(LocalAsset& local, const std::string& name);
  Status delete_asset(const ReleaseAsset& asset);

  GitHubApi& m_api;
  Clock& m_clock;
  GitHubTargetOptions m_options;
  std::mt19937 m_rng;
  std::optional<Release> m_release;                   // as open() found it
  std::optional<std::vector<ReleaseAsset>> m_assets;  // the listing, kept up to date
  std::map<std::string, ReleaseAsset> m_ready_temp;   // complete temporary assets, by final name
};

}  // namespace sbpipe

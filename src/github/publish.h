#pragma once
// Publishing files as the assets of a GitHub release, idempotently and
// without ever leaving a name pointing at nothing for longer than one
// request:
//   - an asset with the same name and the same size and sha256 is kept;
//   - other content is uploaded under "sbpipe-tmp-<name>", then the old
//     asset is deleted and the new one renamed (PATCH): a crash leaves the
//     old asset or the new one under its name, never neither;
//   - leftovers of earlier runs (assets in state starter/open, temporary
//     names) are deleted, except a complete temporary asset whose content is
//     exactly what is being published, which is renamed instead of uploaded
//     again;
//   - sha256sums.txt goes last, so it only ever lists a complete set.

#include <string>
#include <vector>

#include "core/clock.h"
#include "github/api.h"
#include "pipeline/assets.h"

namespace sbpipe {

inline constexpr std::string_view kTempAssetPrefix = "sbpipe-tmp-";

struct PublishOptions {
  bool allow_published = false;  // publish to a release that is no longer a pre-release
  RetryPolicy policy;            // for uploads that fail half-way
};

// Publishes `files` (in order), then the sha256sums.txt covering them, to
// the release tagged `tag`. Returns one report per asset, sha256sums.txt
// last. Fills in each file's sha256.
Result<std::vector<AssetReport>> publish_release_assets(GitHubApi& api, Clock& clock, const RepoName& repo,
                                                        const std::string& tag, std::vector<LocalAsset>& files,
                                                        const PublishOptions& options);

// The sha256 of a remote asset: its `digest`, or (older assets without one)
// a download hashed as it streams.
Result<std::string> remote_sha256(GitHubApi& api, const RepoName& repo, const ReleaseAsset& asset);

} // namespace sbpipe

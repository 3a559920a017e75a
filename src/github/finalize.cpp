#include "github/finalize.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <map>

#include "github/publish.h"
#include "pipeline/assets.h"

namespace sbpipe {
namespace {

constexpr size_t kMaxChecksumsSize = 1 << 20;

Result<std::string> download_small(GitHubApi& api, const RepoName& repo, const ReleaseAsset& asset) {
  std::string text;
  auto st = api.download_asset(repo, asset.id, [&](std::span<const char> chunk) -> Status {
    if (text.size() + chunk.size() > kMaxChecksumsSize)
      return fail(ErrorKind::invalid_input, asset.name + " is larger than 1 MiB");
    text.append(chunk.data(), chunk.size());
    return {};
  });
  if (!st) return fail(st.error());
  return text;
}

} // namespace

Result<FinalizeResult> finalize_release(GitHubApi& api, const RepoName& repo, const std::string& tag,
                                        const FinalizeOptions& options) {
  auto release = api.find_release(repo, tag);
  if (!release) return fail(release.error());
  std::string what = "release " + tag + " of " + repo.str();
  auto assets = api.list_assets(repo, release->id);
  if (!assets) return fail(assets.error());
  std::map<std::string, ReleaseAsset> by_name;
  for (auto& asset : *assets) by_name[asset.name] = std::move(asset);

  auto sums = by_name.find(std::string(kChecksumsName));
  if (sums == by_name.end() || sums->second.state != "uploaded")
    return fail(ErrorKind::invalid_input, what + " has no sha256sums.txt: run upload-assets first; release left as it was");
  auto text = download_small(api, repo, sums->second);
  if (!text) return fail(text.error().with_context(what));
  auto listed = parse_sha256sums(*text, what + " sha256sums.txt");
  if (!listed) return fail(listed.error());

  auto published = [&](const std::string& name) -> Result<std::string> {
    auto it = by_name.find(name);
    if (it == by_name.end()) return fail(ErrorKind::not_found, name + " is missing");
    if (it->second.state != "uploaded")
      return fail(ErrorKind::invalid_input, name + " is incomplete (state " + it->second.state + ")");
    return remote_sha256(api, repo, it->second);
  };
  if (auto st = check_listed_assets(*listed, published, what); !st) return fail(st.error());
  if (options.check_installer) {
    if (auto st = options.check_installer(); !st)
      return fail(st.error().with_context(what + ": installer check failed; release left as it was"));
  }

  FinalizeResult result{*release, false, *listed};
  ReleaseFacts facts = options.facts;
  facts.checksums = *listed;
  std::string body = merge_notes(release->body, notes_section(facts));
  nlohmann::json patch = nlohmann::json::object();
  if (body != release->body) patch["body"] = body;
  if (!release->is_full_release()) {
    patch["prerelease"] = false;
    if (release->draft) patch["draft"] = false;
    patch["make_latest"] = options.make_latest ? "true" : "false";
  }
  if (patch.empty()) {
    spdlog::info("{} is already released with these notes; nothing to change", what);
    return result;
  }
  auto updated = api.update_release(repo, release->id, patch);
  if (!updated) return fail(updated.error());
  if (!updated->is_full_release())
    return fail(ErrorKind::permanent, "GitHub: " + what + " is still a " + (updated->draft ? "draft" : "pre-release") +
                                          " after the update");
  result.release = *updated;
  result.changed = true;
  spdlog::info("{} is released ({} assets checked)", what, listed->size());
  return result;
}

} // namespace sbpipe

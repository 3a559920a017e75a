#include "release/publish.h"

#include <spdlog/spdlog.h>

#include <map>
#include <set>

#include "release/checksums.h"

namespace sbpipe {
namespace {

constexpr size_t k_max_listing_size = 1 << 20;

const PublishedAsset* find_complete(const std::vector<PublishedAsset>& assets, std::string_view name) {
  for (const auto& a : assets)
    if (a.name == name && a.complete) return &a;
  return nullptr;
}

Result<ChecksumList> read_checksum_file(ReleaseTarget& target, const PublishedAsset& asset, DigestKind kind) {
  std::string text;
  auto st = target.read(asset, [&](std::span<const char> chunk) -> Status {
    if (text.size() + chunk.size() > k_max_listing_size)
      return fail(ErrorKind::invalid_input, target.what() + ": " + asset.name + " is larger than 1 MiB");
    text.append(chunk.data(), chunk.size());
    return {};
  });
  if (!st) return fail(st.error());
  return parse_checksums(text, kind, target.what() + " " + asset.name);
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : "; ") + item;
  return out;
}

// The sha256 of a published asset that was not given, from the target when
// it knows it, else read. `digests` caches what reading found.
Result<std::string> published_sha256(ReleaseTarget& target, const PublishedAsset& asset,
                                     std::map<std::string, Digests>& digests) {
  if (asset.sha256) return *asset.sha256;
  auto read = read_digests(target, asset);
  if (!read) return fail(read.error());
  digests[asset.name] = *read;
  return read->sha256;
}

}  // namespace

Result<Digests> read_digests(ReleaseTarget& target, const PublishedAsset& asset) {
  if (!asset.sha256)
    spdlog::info("{}: reading {} to compute its digests", target.what(), asset.name);
  else
    spdlog::info("{}: reading {} for its sha512 (not known yet)", target.what(), asset.name);
  DigestPair digests;
  auto st = target.read(asset, [&](std::span<const char> chunk) -> Status {
    digests.update(chunk);
    return {};
  });
  if (!st) return fail(st.error());
  Digests out = digests.finish();
  if (asset.sha256 && *asset.sha256 != out.sha256)
    return fail(ErrorKind::invalid_input, target.what() + ": " + asset.name + " read back with sha256 " +
                                              digest_prefix(out.sha256) + ", but its published digest is " +
                                              digest_prefix(*asset.sha256));
  return out;
}

Result<PublishedListing> read_listing(ReleaseTarget& target, const std::vector<PublishedAsset>& assets) {
  PublishedListing listing;
  const PublishedAsset* sums = find_complete(assets, k_sha256_sums);
  if (sums == nullptr) {
    sums = find_complete(assets, k_legacy_sha256_sums);
    listing.legacy = sums != nullptr;
  }
  if (sums != nullptr) {
    auto parsed = read_checksum_file(target, *sums, DigestKind::sha256);
    if (!parsed) return fail(parsed.error());
    listing.sha256 = std::move(*parsed);
    listing.has_sha256 = true;
  }
  if (const auto* sha512 = find_complete(assets, k_sha512_sums)) {
    auto parsed = read_checksum_file(target, *sha512, DigestKind::sha512);
    if (!parsed) return fail(parsed.error());
    listing.sha512 = std::move(*parsed);
    listing.has_sha512 = true;
  }
  return listing;
}

Result<std::vector<AssetReport>> publish_release(ReleaseTarget& target, std::vector<LocalAsset>& files,
                                                 const PublishRequest& request) {
  const std::string what = target.what();
  auto info = target.open(OpenFor::publish);
  if (!info) return fail(info.error());
  if (auto st = check_pin(*info, request.pin, what); !st) return fail(st.error());
  if (info->state == ReleaseState::released && request.allow_published == AllowPublished::no)
    return fail(ErrorKind::permanent, what + " is already a full release; refusing to change its assets (--allow-published)");
  if (auto st = target.clean_up(files); !st) return fail(st.error());
  auto remote = target.assets();
  if (!remote) return fail(remote.error());
  auto before = read_listing(target, *remote);
  if (!before) return fail(before.error());

  std::set<std::string> given;
  for (const auto& f : files) given.insert(f.name);
  const std::string listing_name(before->legacy ? k_legacy_sha256_sums : k_sha256_sums);

  // Every asset that stays as it is gets listed with its digests; what the
  // listing already says about it must still hold.
  std::map<std::string, Digests> kept;
  std::map<std::string, Digests> read_back;
  std::vector<std::string> problems;
  for (const auto& asset : *remote) {
    if (is_checksum_file(asset.name) || given.count(asset.name)) continue;
    if (!asset.complete) {
      problems.push_back(asset.name + " is left incomplete (" + asset.state + "); remove it");
      continue;
    }
    if (auto st = check_asset_name(asset.name); !st) {
      problems.push_back(asset.name + " is not a name sbpipe lists; remove it");
      continue;
    }
    auto sha256 = published_sha256(target, asset, read_back);
    if (!sha256) return fail(sha256.error());
    auto listed = before->sha256.find(asset.name);
    if (listed != before->sha256.end() && listed->second != *sha256) {
      problems.push_back(asset.name + " has sha256 " + digest_prefix(*sha256) + ", " + listing_name + " says " +
                         digest_prefix(listed->second) + " (changed outside sbpipe?); pass the file to publish it again");
      continue;
    }
    if (listed == before->sha256.end())
      spdlog::info("{}: {} is not among the files given; listing it with its published digest", what, asset.name);
    Digests d{*sha256, "", asset.size};
    if (auto r = read_back.find(asset.name); r != read_back.end())
      d = r->second;
    else if (auto s = before->sha512.find(asset.name); listed != before->sha256.end() && s != before->sha512.end())
      d.sha512 = s->second;  // listed together with the sha256 that still holds
    kept[asset.name] = std::move(d);
  }
  // The listing never shrinks: a listed name must be given or still be there.
  std::set<std::string> listed_names;
  for (const auto& [name, hex] : before->sha256) listed_names.insert(name);
  for (const auto& [name, hex] : before->sha512) listed_names.insert(name);
  for (const auto& name : listed_names)
    if (!given.count(name) && !kept.count(name) && !find_complete(*remote, name))
      problems.push_back(name + " is listed in " + (before->sha256.count(name) ? listing_name : std::string(k_sha512_sums)) +
                         " but is no longer an asset; pass the file to publish it again");
  if (!problems.empty())
    return fail(ErrorKind::invalid_input,
                what + ": the checksum files would no longer describe the release: " + join(problems) + "; nothing was changed");
  // Kept assets without a trusted sha512 are read now, before anything changes.
  for (auto& [name, d] : kept) {
    if (!d.sha512.empty()) continue;
    auto read = read_digests(target, *find_complete(*remote, name));
    if (!read) return fail(read.error());
    d = *read;
  }

  std::vector<AssetReport> reports;
  for (auto& file : files) {
    auto outcome = target.put(file);
    if (!outcome) return fail(outcome.error());
    reports.push_back(AssetReport{file.name, *outcome, file.size, file.sha256});
  }
  ChecksumList sha256, sha512;
  for (const auto& [name, d] : kept) {
    sha256[name] = d.sha256;
    sha512[name] = d.sha512;
  }
  for (const auto& f : files) {
    sha256[f.name] = f.sha256;
    sha512[f.name] = f.sha512;
  }
  // sha256sum.txt last: it is the listing finalize checks.
  for (auto [name, list] : {std::pair{k_sha512_sums, &sha512}, std::pair{k_sha256_sums, &sha256}}) {
    LocalAsset sums = checksum_asset(name, *list);
    auto outcome = target.put(sums);
    if (!outcome) return fail(outcome.error());
    reports.push_back(AssetReport{sums.name, *outcome, sums.size, sums.sha256});
  }
  if (find_complete(*remote, k_legacy_sha256_sums)) {
    spdlog::info("{}: removing {} (written by an older sbpipe; {} and {} replace it)", what, k_legacy_sha256_sums, k_sha256_sums,
                 k_sha512_sums);
    if (auto st = target.remove(std::string(k_legacy_sha256_sums)); !st) return fail(st.error());
  }
  if (auto st = target.record(sha256); !st) return fail(st.error());
  return reports;
}

}  // namespace sbpipe

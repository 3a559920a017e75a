#include "release/publish.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <map>
#include <set>

#include "release/checksums.h"
#include "release/release_signatures.h"
#include "sigstore/bundle.h"

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

std::string join(const std::vector<std::string>& items) { return fmt::format("{}", fmt::join(items, "; ")); }

// The bundle for `file`: the published one when it is the key's signature
// of the file's digest (a re-run changes nothing), else a new one.
Result<LocalAsset> bundle_for(ReleaseTarget& target, const std::vector<PublishedAsset>& remote, LocalAsset& file,
                              const SigningKey& key) {
  if (auto st = ensure_digests(file); !st) return fail(st.error());
  if (const PublishedAsset* published = find_complete(remote, bundle_name(file.name));
      published && published->size < (1u << 20)) {
    std::string bytes;
    auto read = target.read(*published, [&](std::span<const char> chunk) -> Status {
      bytes.append(chunk.data(), chunk.size());
      return {};
    });
    auto parsed = read ? parse_bundle(bytes) : Result<Bundle>(fail(read.error()));
    if (parsed && verify_bundle_with_key(*parsed, key.public_key(), *from_hex(file.sha256)))
      return memory_asset(published->name, bytes);
  }
  return sign_asset(file, key);
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

namespace {

// What publishing keeps of the release as it is: every asset that is not
// given stays, listed with its digests, and what the listing already says
// about it must still hold; the listing never shrinks. Pure: the published
// digests the target does not know were read before (`read_back`).
struct ListingPlan {
  std::map<std::string, Digests> kept;
  std::vector<std::string> problems;  // non-empty: nothing may change
  std::vector<std::string> unlisted;  // kept assets the listing did not name yet
};

// The assets that stay as they are and can be listed: complete, under a
// name sbpipe lists, not given again, not a listing itself.
bool stays(const PublishedAsset& asset, const std::set<std::string>& given) {
  return !is_checksum_file(asset.name) && !given.count(asset.name) && asset.complete && check_asset_name(asset.name);
}

ListingPlan plan_listing(const std::vector<PublishedAsset>& remote, const PublishedListing& before,
                         const std::set<std::string>& given, const std::map<std::string, Digests>& read_back) {
  const std::string listing_name(before.legacy ? k_legacy_sha256_sums : k_sha256_sums);
  ListingPlan plan;
  for (const auto& asset : remote) {
    if (is_checksum_file(asset.name) || given.count(asset.name)) continue;
    if (!asset.complete) {
      plan.problems.push_back(asset.name + " is left incomplete (" + asset.state + "); remove it");
      continue;
    }
    if (!check_asset_name(asset.name)) {
      plan.problems.push_back(asset.name + " is not a name sbpipe lists; remove it");
      continue;
    }
    auto r = read_back.find(asset.name);
    const std::string sha256 = asset.sha256 ? *asset.sha256 : r->second.sha256;
    auto listed = before.sha256.find(asset.name);
    if (listed != before.sha256.end() && listed->second != sha256) {
      plan.problems.push_back(asset.name + " has sha256 " + digest_prefix(sha256) + ", " + listing_name + " says " +
                              digest_prefix(listed->second) + " (changed outside sbpipe?); pass the file to publish it again");
      continue;
    }
    if (listed == before.sha256.end()) plan.unlisted.push_back(asset.name);
    Digests d{sha256, "", asset.size};
    if (r != read_back.end())
      d = r->second;
    else if (auto s = before.sha512.find(asset.name); listed != before.sha256.end() && s != before.sha512.end())
      d.sha512 = s->second;  // listed together with the sha256 that still holds
    plan.kept[asset.name] = std::move(d);
  }
  std::set<std::string> listed_names;
  for (const auto& [name, hex] : before.sha256) listed_names.insert(name);
  for (const auto& [name, hex] : before.sha512) listed_names.insert(name);
  for (const auto& name : listed_names)
    if (!given.count(name) && !plan.kept.count(name) && !find_complete(remote, name))
      plan.problems.push_back(name + " is listed in " + (before.sha256.count(name) ? listing_name : std::string(k_sha512_sums)) +
                              " but is no longer an asset; pass the file to publish it again");
  return plan;
}

// The release as publishing may change it: the pin holds, and it is not a
// full release unless that is allowed.
Status open_for_publish(ReleaseTarget& target, const PublishRequest& request) {
  auto info = target.open(OpenFor::publish);
  if (!info) return fail(info.error());
  if (auto st = check_pin(*info, request.pin, target.what()); !st) return fail(st.error());
  if (info->state == ReleaseState::released && request.allow_published == AllowPublished::no)
    return fail(ErrorKind::permanent,
                target.what() + " is already a full release; refusing to change its assets (--allow-published)");
  return {};
}

// The files (each followed by its bundle, with a key), then sha512sum.txt,
// then sha256sum.txt (the listing finalize checks, last; each after its
// bundle), then the legacy listing goes; the target records the listing.
Result<std::vector<AssetReport>> put_all(ReleaseTarget& target, std::vector<LocalAsset>& files,
                                         const std::map<std::string, Digests>& kept, bool legacy_there,
                                         const std::vector<PublishedAsset>& remote, const SigningKey* key) {
  std::vector<AssetReport> reports;
  std::vector<LocalAsset> bundles;
  auto put_bundle = [&](LocalAsset& of) -> Result<LocalAsset> {
    auto bundle = bundle_for(target, remote, of, *key);
    if (!bundle) return fail(bundle.error());
    auto put = target.put(*bundle);
    if (!put) return fail(put.error());
    reports.push_back(AssetReport{bundle->name, *put, bundle->size, bundle->sha256});
    return bundle;
  };
  for (auto& file : files) {
    auto outcome = target.put(file);
    if (!outcome) return fail(outcome.error());
    reports.push_back(AssetReport{file.name, *outcome, file.size, file.sha256});
    if (key && !is_bundle_name(file.name)) {
      auto bundle = put_bundle(file);
      if (!bundle) return fail(bundle.error());
      bundles.push_back(std::move(*bundle));
    }
  }
  ChecksumList sha256, sha512;
  for (const auto& [name, d] : kept) {
    sha256[name] = d.sha256;
    sha512[name] = d.sha512;
  }
  for (const auto* list : {&files, &bundles})
    for (const auto& f : *list) {
      sha256[f.name] = f.sha256;
      sha512[f.name] = f.sha512;
    }
  for (auto [name, list] : {std::pair{k_sha512_sums, &sha512}, std::pair{k_sha256_sums, &sha256}}) {
    LocalAsset sums = checksum_asset(name, *list);
    if (key)
      if (auto bundle = put_bundle(sums); !bundle) return fail(bundle.error());
    auto outcome = target.put(sums);
    if (!outcome) return fail(outcome.error());
    reports.push_back(AssetReport{sums.name, *outcome, sums.size, sums.sha256});
  }
  if (legacy_there) {
    spdlog::info("{}: removing {} (written by an older sbpipe; {} and {} replace it)", target.what(), k_legacy_sha256_sums,
                 k_sha256_sums, k_sha512_sums);
    if (auto st = target.remove(std::string(k_legacy_sha256_sums)); !st) return fail(st.error());
  }
  if (auto st = target.record(sha256); !st) return fail(st.error());
  return reports;
}

}  // namespace

Result<std::vector<AssetReport>> publish_release(ReleaseTarget& target, std::vector<LocalAsset>& files,
                                                 const PublishRequest& request) {
  if (auto st = open_for_publish(target, request); !st) return fail(st.error());
  if (auto st = target.clean_up(files); !st) return fail(st.error());
  auto remote = target.assets();
  if (!remote) return fail(remote.error());
  auto before = read_listing(target, *remote);
  if (!before) return fail(before.error());
  std::set<std::string> given;
  for (const auto& f : files) given.insert(f.name);
  if (request.sign_key)
    for (const auto& f : files)
      if (!is_bundle_name(f.name)) given.insert(bundle_name(f.name));
  // The published digests the target does not know, read once.
  std::map<std::string, Digests> read_back;
  for (const auto& asset : *remote) {
    if (!stays(asset, given) || asset.sha256) continue;
    auto read = read_digests(target, asset);
    if (!read) return fail(read.error());
    read_back[asset.name] = *read;
  }
  ListingPlan plan = plan_listing(*remote, *before, given, read_back);
  if (!plan.problems.empty())
    return fail(ErrorKind::invalid_input, target.what() + ": the checksum files would no longer describe the release: " +
                                              join(plan.problems) + "; nothing was changed");
  for (const auto& name : plan.unlisted)
    spdlog::info("{}: {} is not among the files given; listing it with its published digest", target.what(), name);
  // Kept assets without a trusted sha512 are read now, before anything changes.
  for (auto& [name, d] : plan.kept) {
    if (!d.sha512.empty()) continue;
    auto read = read_digests(target, *find_complete(*remote, name));
    if (!read) return fail(read.error());
    d = *read;
  }
  return put_all(target, files, plan.kept, find_complete(*remote, k_legacy_sha256_sums) != nullptr, *remote, request.sign_key);
}

}  // namespace sbpipe

#include "release/finalize.h"

#include <spdlog/spdlog.h>

#include <map>

#include "release/checksums.h"
#include "release/publish.h"
#include "release/release_signatures.h"
#include "sigstore/bundle.h"

namespace sbpipe {
namespace {

std::string names_of(const ChecksumList& a, const ChecksumList& b) {
  std::string out;
  for (const auto& [name, hex] : a)
    if (!b.count(name)) out += (out.empty() ? "" : ", ") + name;
  return out;
}

// Every problem with the assets against the listing, in one list.
Result<std::vector<std::string>> check_assets(ReleaseTarget& target, const std::vector<PublishedAsset>& assets,
                                              const PublishedListing& listing, const std::string& listing_name) {
  std::vector<std::string> problems;
  std::map<std::string, const PublishedAsset*> by_name;
  for (const auto& a : assets) by_name[a.name] = &a;
  for (const auto& a : assets) {
    if (a.name == listing_name || (a.name == k_sha512_sums && !listing.legacy)) continue;
    if (is_checksum_file(a.name) && is_bundle_name(a.name)) continue;  // the checksum files' bundles
    if (a.name == k_legacy_sha256_sums) {
      problems.push_back(a.name + " is left from an older sbpipe beside " + std::string(k_sha256_sums) +
                         " (run upload-assets again: it removes it)");
    } else if (a.name == k_sha512_sums) {
      problems.push_back(a.name + " is published beside the older " + std::string(k_legacy_sha256_sums) +
                         " (run upload-assets again: it writes sha256sum.txt)");
    } else if (!listing.sha256.count(a.name)) {
      problems.push_back(a.complete ? a.name + " is not listed in " + listing_name
                                    : a.name + " is left from an interrupted upload (" + a.state + ")");
    }
  }
  if (listing.has_sha512 && !listing.legacy) {
    if (auto extra = names_of(listing.sha256, listing.sha512); !extra.empty())
      problems.push_back(std::string(k_sha512_sums) + " does not list " + extra);
    if (auto extra = names_of(listing.sha512, listing.sha256); !extra.empty())
      problems.push_back(std::string(k_sha512_sums) + " lists " + extra + ", which " + listing_name + " does not");
  }
  for (const auto& [name, hex] : listing.sha256) {
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      problems.push_back(name + " is missing");
      continue;
    }
    const PublishedAsset& asset = *it->second;
    if (!asset.complete) {
      problems.push_back(name + " is incomplete (" + asset.state + ")");
      continue;
    }
    std::string sha256;
    if (asset.sha256) {
      sha256 = *asset.sha256;
    } else {
      // Read anyway: check both digests while at it.
      auto read = read_digests(target, asset);
      if (!read) {
        if (read.error().kind() != ErrorKind::invalid_input && read.error().kind() != ErrorKind::not_found)
          return fail(read.error());
        problems.push_back(read.error().message());
        continue;
      }
      sha256 = read->sha256;
      auto listed512 = listing.sha512.find(name);
      if (sha256 == hex && listed512 != listing.sha512.end() && listed512->second != read->sha512)
        problems.push_back(name + " has sha512 " + digest_prefix(read->sha512) + ", " + std::string(k_sha512_sums) + " says " +
                           digest_prefix(listed512->second));
    }
    if (sha256 != hex)
      problems.push_back(name + " has sha256 " + digest_prefix(sha256) + ", " + listing_name + " says " + digest_prefix(hex));
  }
  return problems;
}

// Every bundle problem: each listed asset's bundle (itself listed, so its
// bytes were checked above) and each checksum file's must verify with `key`.
Status check_bundles(ReleaseTarget& target, const std::vector<PublishedAsset>& assets, const PublishedListing& listing,
                     const PublicKey& key, std::vector<std::string>& problems) {
  auto read_small = [&](const PublishedAsset& asset) -> Result<std::string> {
    if (asset.size > (1u << 20)) return fail(ErrorKind::invalid_input, asset.name + " is over 1 MiB");
    std::string bytes;
    auto st = target.read(asset, [&](std::span<const char> chunk) -> Status {
      bytes.append(chunk.data(), chunk.size());
      return {};
    });
    if (!st) return fail(st.error());
    return bytes;
  };
  auto check = [&](const std::string& name, const std::string& sha256_hex) -> Status {
    const PublishedAsset* bundle = nullptr;
    for (const auto& a : assets)
      if (a.name == bundle_name(name) && a.complete) bundle = &a;
    if (bundle == nullptr) {
      problems.push_back(name + " has no signature (" + bundle_name(name) + " is missing)");
      return {};
    }
    auto bytes = read_small(*bundle);
    if (!bytes) {
      if (bytes.error().kind() != ErrorKind::invalid_input) return fail(bytes.error());
      problems.push_back(bytes.error().message());
      return {};
    }
    auto parsed = parse_bundle(*bytes);
    Status verified = parsed ? verify_bundle_with_key(*parsed, key, *from_hex(sha256_hex)) : Status(fail(parsed.error()));
    if (!verified) problems.push_back(bundle_name(name) + ": " + verified.error().message());
    return {};
  };
  for (const auto& [name, hex] : listing.sha256)
    if (!is_bundle_name(name))
      if (auto st = check(name, hex); !st) return st;
  for (auto name : {k_sha256_sums, k_sha512_sums}) {
    const PublishedAsset* sums = nullptr;
    for (const auto& a : assets)
      if (a.name == name && a.complete) sums = &a;
    if (sums == nullptr) continue;  // reported above
    auto digests = read_digests(target, *sums);
    if (!digests) return fail(digests.error());
    if (auto st = check(std::string(name), digests->sha256); !st) return st;
  }
  return {};
}

}  // namespace

Result<FinalizeResult> finalize_release(ReleaseTarget& target, const FinalizeRequest& request) {
  const std::string what = target.what();
  auto info = target.open(OpenFor::finalize);
  if (!info) return fail(info.error());
  if (auto st = check_pin(*info, request.pin, what); !st)
    return fail(st.error().kind(), st.error().message() + "; release left as it was");
  auto assets = target.assets();
  if (!assets) return fail(assets.error());
  auto listing = read_listing(target, *assets);
  if (!listing) return fail(listing.error());
  if (!listing->has_sha256)
    return fail(ErrorKind::invalid_input,
                what + " has no " + std::string(k_sha256_sums) + ": run upload-assets first; release left as it was");
  const std::string listing_name(listing->legacy ? k_legacy_sha256_sums : k_sha256_sums);
  if (!listing->legacy && !listing->has_sha512)
    return fail(ErrorKind::invalid_input,
                what + " has " + listing_name + " but no " + std::string(k_sha512_sums) +
                    " (an interrupted upload-assets?): run upload-assets again; release left as it was");
  if (listing->sha256.empty())
    return fail(ErrorKind::invalid_input, what + ": " + listing_name + " lists no asset; release left as it was");
  auto problems = check_assets(target, *assets, *listing, listing_name);
  if (!problems) return fail(problems.error());
  if (request.signing_key)
    if (auto st = check_bundles(target, *assets, *listing, *request.signing_key, *problems); !st) return fail(st.error());
  if (!problems->empty()) {
    std::string text;
    for (const auto& p : *problems) text += (text.empty() ? "" : "; ") + p;
    return fail(ErrorKind::invalid_input, what + " is not complete: " + text + "; release left as it was");
  }

  ReleaseFacts facts = request.facts;
  if (facts.installer_ref.empty()) {
    facts.installer_ref = installer_in_notes(info->notes);
    if (!facts.installer_ref.empty()) spdlog::info("{}: keeping the installer its notes name: {}", what, facts.installer_ref);
  }
  if (!facts.installer_ref.empty() && request.check_installer) {
    if (auto st = request.check_installer(facts.installer_ref); !st)
      return fail(st.error().with_context(what + ": installer check failed; release left as it was"));
  }
  facts.checksums.assign(listing->sha256.begin(), listing->sha256.end());
  std::string notes = merge_notes(info->notes, notes_section(facts));
  FinalizeResult result{*info, false, listing->sha256};
  if (info->state == ReleaseState::released && notes == info->notes) {
    spdlog::info("{} is already released with these notes; nothing to change", what);
    return result;
  }
  auto updated = target.mark_released(notes, facts, request.make_latest);
  if (!updated) return fail(updated.error());
  if (updated->state != ReleaseState::released)
    return fail(ErrorKind::permanent, what + " is still a " + std::string(state_name(updated->state)) + " after the update");
  result.release = *updated;
  result.changed = true;
  spdlog::info("{} is released ({} assets checked)", what, listing->sha256.size());
  return result;
}

}  // namespace sbpipe

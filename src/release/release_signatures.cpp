#include "release/release_signatures.h"

#include <map>
#include <set>

#include "core/file.h"
#include "release/checksums.h"
#include "sigstore/bundle.h"

namespace sbpipe {
namespace {

// Both digests of a file in `dir`, or why not.
Result<Digests> file_digests(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return fail(ErrorKind::not_found, "missing");
  auto source = file_opener(path)();
  if (!source) return fail(source.error());
  return hash_source(**source);
}

// Whether `name`'s bundle in `dir` verifies for the digest `sha256_hex`.
ReleaseFileCheck check_bundle(const std::filesystem::path& dir, const std::string& name, const std::string& sha256_hex,
                              const PublicKey& key) {
  ReleaseFileCheck row{name, "bundle", false, ""};
  auto text = read_small_file(dir / bundle_name(name), 1 << 20);
  if (!text) {
    row.detail = bundle_name(name) + ": " + text.error().message();
    return row;
  }
  auto bundle = parse_bundle(*text);
  if (!bundle) {
    row.detail = bundle_name(name) + ": " + bundle.error().message();
    return row;
  }
  auto st = verify_bundle_with_key(*bundle, key, *from_hex(sha256_hex));
  row.ok = static_cast<bool>(st);
  row.detail = st ? "signed by " + key.fingerprint().substr(0, 16) + "..." : st.error().message();
  return row;
}

}  // namespace

bool is_bundle_name(std::string_view name) { return name.size() > k_bundle_suffix.size() && name.ends_with(k_bundle_suffix); }

std::string bundle_name(std::string_view name) { return std::string(name) + std::string(k_bundle_suffix); }

Result<LocalAsset> sign_asset(LocalAsset& asset, const SigningKey& key) {
  if (auto st = ensure_digests(asset); !st) return fail(st.error());
  auto bundle = sign_artifact_digest(key, *from_hex(asset.sha256));
  if (!bundle) return fail(bundle.error());
  return memory_asset(bundle_name(asset.name), bundle_json(*bundle));
}

std::vector<ReleaseFileCheck> verify_release_dir(const std::filesystem::path& dir, const PublicKey& key) {
  std::vector<ReleaseFileCheck> rows;
  std::map<std::string, ChecksumList> lists;
  std::set<std::string> described;  // every file the checks below account for
  for (auto [name, kind] : {std::pair{k_sha256_sums, DigestKind::sha256}, {k_sha512_sums, DigestKind::sha512}}) {
    std::string file(name);
    described.insert(file);
    described.insert(bundle_name(file));
    auto digests = file_digests(dir / file);
    if (!digests) {
      rows.push_back({file, "present", false, digests.error().message()});
      continue;
    }
    rows.push_back(check_bundle(dir, file, digests->sha256, key));
    auto text = read_small_file(dir / file, 16 << 20);
    if (!text) {
      rows.push_back({file, "parse", false, text.error().message()});
      continue;
    }
    auto list = parse_checksums(*text, kind, file);
    if (!list) {
      rows.push_back({file, "parse", false, list.error().message()});
      continue;
    }
    lists[file] = std::move(*list);
  }
  std::set<std::string> names;
  for (const auto& [file, list] : lists)
    for (const auto& [name, hex] : list) names.insert(name);
  for (const auto& name : names) {
    described.insert(name);
    auto digests = file_digests(dir / name);
    if (!digests) {
      rows.push_back({name, "present", false, digests.error().message()});
      continue;
    }
    for (const auto& [file, list] : lists) {
      auto it = list.find(name);
      const std::string& have = file == k_sha256_sums ? digests->sha256 : digests->sha512;
      if (it == list.end())
        rows.push_back({name, file, false, "not listed in " + file});
      else
        rows.push_back(
            {name, file, it->second == have,
             it->second == have ? digest_prefix(have) : "is " + digest_prefix(have) + ", listed " + digest_prefix(it->second)});
    }
    if (!is_bundle_name(name)) rows.push_back(check_bundle(dir, name, digests->sha256, key));
  }
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (!described.contains(name) && entry.is_regular_file())
      rows.push_back({name, "listed", false, "in no checksum file: not checked", false});
  }
  if (ec) rows.push_back({dir.string(), "read", false, ec.message()});
  return rows;
}

}  // namespace sbpipe

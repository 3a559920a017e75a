#pragma once
// A publishing target held in memory, for the rules of release/publish.h
// and release/finalize.h: it records every call ("put NAME", "remove NAME",
// "read NAME", "released") and can be told to hide digests (as GitHub does
// for old assets) or to fail a call.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/sha256.h"
#include "release/target.h"

namespace sbpipe::test {

struct FakeAsset {
  std::string content;
  bool complete = true;
  std::string state = "uploaded";
};

class FakeTarget final : public ReleaseTarget {
public:
  ReleaseInfo info{"v1", ReleaseState::prerelease, "", "fake://v1", 7};
  std::map<std::string, FakeAsset> files;
  bool digests_known = true;  // false: every asset reads as "no digest"
  bool missing = false;       // open() answers not_found
  std::string fail_put;       // put of this name fails (transient)
  std::vector<std::string> calls;
  ReleaseFacts released_with;

  void add(const std::string& name, const std::string& content) { files[name] = FakeAsset{content}; }
  std::string content(const std::string& name) const { return files.at(name).content; }

  std::optional<Error> access_error;  // check_access() fails with this
  std::string what() const override { return "release v1"; }
  Result<std::string> check_access() override {
    calls.push_back("check access");
    if (access_error) return fail(*access_error);
    return std::string("may publish");
  }
  Result<ReleaseInfo> open(OpenFor) override {
    calls.push_back("open");
    if (missing) return fail(ErrorKind::not_found, "release v1: no such release");
    return info;
  }
  Result<std::vector<PublishedAsset>> assets() override {
    std::vector<PublishedAsset> out;
    for (const auto& [name, f] : files) {
      PublishedAsset a{name, f.content.size(), f.complete, f.state, std::nullopt};
      if (digests_known && f.complete) a.sha256 = Sha256::hex_of(f.content);
      out.push_back(a);
    }
    return out;
  }
  Status read(const PublishedAsset& asset, const std::function<Status(std::span<const char>)>& sink) override {
    calls.push_back("read " + asset.name);
    auto it = files.find(asset.name);
    if (it == files.end()) return fail(ErrorKind::not_found, asset.name + " is missing");
    return sink(std::span<const char>(it->second.content.data(), it->second.content.size()));
  }
  Status clean_up(std::vector<LocalAsset>&) override {
    std::erase_if(files, [&](const auto& kv) {
      if (kv.second.complete) return false;
      calls.push_back("remove " + kv.first);
      return true;
    });
    return {};
  }
  Result<AssetOutcome> put(LocalAsset& asset) override {
    if (asset.name == fail_put) return fail(ErrorKind::transient, "put " + asset.name + " failed");
    if (auto st = ensure_digests(asset); !st) return fail(st.error());
    auto source = asset.open();
    if (!source) return fail(source.error());
    auto bytes = read_all(**source, 1 << 20);
    if (!bytes) return fail(bytes.error());
    auto it = files.find(asset.name);
    if (it != files.end() && it->second.content == *bytes) return AssetOutcome::unchanged;
    calls.push_back("put " + asset.name);
    bool existed = it != files.end();
    files[asset.name] = FakeAsset{*bytes};
    return existed ? AssetOutcome::replaced : AssetOutcome::uploaded;
  }
  Status remove(const std::string& name) override {
    calls.push_back("remove " + name);
    files.erase(name);
    return {};
  }
  Status record(const ChecksumList&) override { return {}; }
  Result<ReleaseInfo> mark_released(const std::string& notes, const ReleaseFacts& facts, MakeLatest) override {
    calls.push_back("released");
    info.state = ReleaseState::released;
    info.notes = notes;
    released_with = facts;
    return info;
  }
};

}  // namespace sbpipe::test

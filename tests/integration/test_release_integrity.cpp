// "A release is whole or not published": the checksum files describe the
// whole release on both targets (GitHub stand-in and dir:), finalize refuses
// a release whose files and listing disagree, each command works on the
// release it was pinned to (--release-id, --release-state), and the token
// goes nowhere but GitHub's own hosts.

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "integration/push_helpers.h"
#include "support/github_standin.h"

namespace sbpipe::test {
namespace fs = std::filesystem;
using Strings = std::vector<std::string>;

namespace {

const std::string kRepo = "owner/talos-build";
const std::string kTag = "v1.9.0";
const Strings kNames{"metal-amd64-secureboot.iso", "metal-amd64.iso", "vmlinuz-amd64"};

int count_prefix(const Strings& lines, const std::string& prefix) {
  return static_cast<int>(std::count_if(lines.begin(), lines.end(), [&](const std::string& l) { return l.starts_with(prefix); }));
}

// Local files and the two ways to publish them.
struct Files {
  TempDir dir;
  Files() {
    fs::create_directories(dir / "files");
    for (size_t i = 0; i < kNames.size(); ++i)
      write_file(path(kNames[i]), random_bytes(200000 + i * 1000, static_cast<int>(i) + 1));
  }
  fs::path path(const std::string& name) const { return dir / "files" / name; }
  Strings paths(const Strings& names) const {
    Strings out;
    for (const auto& n : names) out.push_back(path(n).string());
    return out;
  }
};

struct GitHubRelease : Files {
  GitHubStandIn github;
  int64_t id = github.create_release(kRepo, kTag, true, false, "Notes.");
  std::map<std::string, std::string> env() const { return {{"GITHUB_TOKEN", github.token()}}; }
  Strings common(Strings extra = {}) const {
    Strings args{"--repo", kRepo, "--tag", kTag, "--github-api", github.api_url(), "--retry-delay-ms", "20"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  RunResult upload(const Strings& names, const Strings& extra = {}) {
    Strings args{"upload-assets"};
    for (const auto& p : paths(names)) args.push_back(p);
    for (const auto& a : common(extra)) args.push_back(a);
    return sbpipe(args, env());
  }
  RunResult finalize(const Strings& extra = {}) {
    Strings args{"finalize"};
    for (const auto& a : common(extra)) args.push_back(a);
    return sbpipe(args, env());
  }
  std::string published(const std::string& name, int64_t release = 0) {
    auto asset = github.asset(release ? release : id, name);
    REQUIRE_MESSAGE(asset, name);
    return github.content(*asset);
  }
};

struct DirRelease : Files {
  fs::path root = dir / "pxe";
  fs::path out = root / kTag;
  RunResult upload(const Strings& names) {
    Strings args{"upload-assets", "--tag", kTag, "--target", "dir:" + root.string()};
    for (const auto& p : paths(names)) args.push_back(p);
    return sbpipe(args);
  }
  RunResult finalize() { return sbpipe({"finalize", "--tag", kTag, "--target", "dir:" + root.string()}); }
  bool released() { return nlohmann::json::parse(read_file(out / "release.json"))["prerelease"] == false; }
};

}  // namespace

TEST_SUITE("integration") {

TEST_CASE(
    "the new-user sequence on GitHub: upload all, re-upload one changed file, finalize: the checksum files cover every asset") {
  GitHubRelease r;
  REQUIRE(r.upload(kNames).exit_code == 0);
  write_file(r.path("metal-amd64.iso"), random_bytes(210000, 42));  // fixed after the first upload
  auto again = r.upload({"metal-amd64.iso"});
  REQUIRE_MESSAGE(again.exit_code == 0, again.err);
  for (const std::string tool : {"sha256sum", "sha512sum"}) {
    std::string text = r.published(tool + ".txt");
    CHECK(listed_names(text) == kNames);
    write_file(r.dir / "files" / (tool + ".txt"), text);
    auto check = run({"sh", "-c", "cd '" + (r.dir / "files").string() + "' && " + tool + " -c " + tool + ".txt"});
    CHECK_MESSAGE(check.exit_code == 0, check.out << check.err);
  }
  auto fin = r.finalize();
  REQUIRE_MESSAGE(fin.exit_code == 0, fin.err);
  CHECK(fin.err.find("is released (3 assets checked)") != std::string::npos);
  CHECK_FALSE(r.github.release(r.id).prerelease);
}

TEST_CASE("finalize on GitHub refuses, release untouched: a line deleted from sha256sum.txt, or an asset added by hand") {
  for (const std::string spoil : {"deleted line", "unlisted asset"}) {
    CAPTURE(spoil);
    GitHubRelease r;
    REQUIRE(r.upload(kNames).exit_code == 0);
    if (spoil == "deleted line") {
      std::string text = r.published("sha256sum.txt");
      text.erase(text.find(sha256_hex(read_file(r.path("metal-amd64.iso")))), 64 + 2 + std::string("metal-amd64.iso\n").size());
      r.github.remove_asset(r.id, "sha256sum.txt");
      r.github.add_asset(r.id, "sha256sum.txt", text);
    } else {
      r.github.add_asset(r.id, "notes.pdf", "added by hand");
    }
    auto before = r.github.release(r.id);
    auto fin = r.finalize();
    CHECK(fin.exit_code == 1);
    CHECK(fin.err.find(spoil == "deleted line" ? "metal-amd64.iso is not listed in sha256sum.txt"
                                               : "notes.pdf is not listed in sha256sum.txt") != std::string::npos);
    CHECK(fin.err.find("release left as it was") != std::string::npos);
    auto after = r.github.release(r.id);
    CHECK(after.prerelease);
    CHECK(after.body == before.body);
    CHECK(count_prefix(r.github.requests(), "PATCH release") == 0);
    // upload-assets describes the release again (the hand-added asset by its digest); then finalize passes.
    auto repaired = r.upload({"vmlinuz-amd64"});
    REQUIRE_MESSAGE(repaired.exit_code == 0, repaired.err);
    auto fin2 = r.finalize();
    CHECK_MESSAGE(fin2.exit_code == 0, fin2.err);
  }
}

TEST_CASE("the new-user sequence and its tampering on the dir: target") {
  DirRelease r;
  REQUIRE(r.upload(kNames).exit_code == 0);
  write_file(r.path("metal-amd64.iso"), random_bytes(210000, 42));
  REQUIRE(r.upload({"metal-amd64.iso"}).exit_code == 0);
  CHECK(listed_names(read_file(r.out / "sha256sum.txt")) == kNames);
  CHECK(listed_names(read_file(r.out / "sha512sum.txt")) == kNames);
  auto check = run({"sh", "-c", "cd '" + r.out.string() + "' && sha256sum -c sha256sum.txt && sha512sum -c sha512sum.txt"});
  CHECK_MESSAGE(check.exit_code == 0, check.out << check.err);

  // Tampering: an unlisted file, then a deleted line.
  write_file(r.out / "extra.iso", "not built by the pipeline");
  auto unlisted = r.finalize();
  CHECK(unlisted.exit_code == 1);
  CHECK(unlisted.err.find("extra.iso is not listed in sha256sum.txt") != std::string::npos);
  CHECK_FALSE(r.released());
  fs::remove(r.out / "extra.iso");
  std::string text = read_file(r.out / "sha256sum.txt");
  write_file(r.out / "sha256sum.txt", text.substr(text.find('\n') + 1));
  auto deleted = r.finalize();
  CHECK(deleted.exit_code == 1);
  CHECK(deleted.err.find("metal-amd64-secureboot.iso is not listed in sha256sum.txt") != std::string::npos);
  CHECK_FALSE(r.released());
  write_file(r.out / "sha256sum.txt", text);
  auto fin = r.finalize();
  REQUIRE_MESSAGE(fin.exit_code == 0, fin.err);
  CHECK(r.released());
}

TEST_CASE("upload-assets refuses to shrink the listing: a listed asset deleted by hand must be given again") {
  GitHubRelease r;
  REQUIRE(r.upload(kNames).exit_code == 0);
  r.github.remove_asset(r.id, "vmlinuz-amd64");
  r.github.clear_requests();
  auto refused = r.upload({"metal-amd64.iso"});
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("vmlinuz-amd64 is listed in sha256sum.txt but is no longer an asset; pass the file to publish it again; "
                         "nothing was changed") != std::string::npos);
  CHECK(count_prefix(r.github.requests(), "POST upload") == 0);
  CHECK(r.upload({"metal-amd64.iso", "vmlinuz-amd64"}).exit_code == 0);
  CHECK(listed_names(r.published("sha256sum.txt")) == kNames);
}

TEST_CASE("a release an older sbpipe left with a shrunk sha256sums.txt is repaired by upload-assets and then finalizes") {
  GitHubRelease r;
  for (const auto& name : kNames) r.github.add_asset(r.id, name, read_file(r.path(name)));
  r.github.add_asset(r.id, "sha256sums.txt", sha256_hex(read_file(r.path("metal-amd64.iso"))) + "  metal-amd64.iso\n");
  auto up = r.upload({"metal-amd64.iso"});
  REQUIRE_MESSAGE(up.exit_code == 0, up.err);
  CHECK_FALSE(r.github.asset(r.id, "sha256sums.txt"));
  CHECK(listed_names(r.published("sha256sum.txt")) == kNames);
  CHECK(up.err.find("removing sha256sums.txt (written by an older sbpipe") != std::string::npos);
  CHECK(r.finalize().exit_code == 0);
}

TEST_CASE("two drafts with one tag: by tag both are refused; with --release-id the run for one never touches the other") {
  GitHubRelease r;
  r.github.delete_release(r.id);
  int64_t a = r.github.create_release(kRepo, kTag, true, true, "Draft A.");
  int64_t b = r.github.create_release(kRepo, kTag, true, true, "Draft B.");
  auto ambiguous = r.upload(kNames);
  CHECK(ambiguous.exit_code == 1);
  CHECK(ambiguous.err.find("2 draft releases carry this tag (ids " + std::to_string(b) + ", " + std::to_string(a) +
                           "); pass --release-id to pick one") != std::string::npos);
  Strings pin{"--release-id", std::to_string(a), "--release-state", "draft"};
  auto up = r.upload(kNames, pin);
  REQUIRE_MESSAGE(up.exit_code == 0, up.err);
  auto fin = r.finalize(pin);
  REQUIRE_MESSAGE(fin.exit_code == 0, fin.err);
  auto published = r.github.release(a);
  CHECK_FALSE(published.draft);
  CHECK(published.assets.size() == 5);
  auto other = r.github.release(b);
  CHECK(other.draft);
  CHECK(other.assets.empty());
  CHECK(other.body == "Draft B.");
  CHECK(count_prefix(r.github.requests(), "GET release " + std::to_string(b)) == 0);
}

TEST_CASE("the pin: an unpublished pre-release, a deleted release, another tag behind the id are refused, nothing changed") {
  GitHubRelease r;
  Strings pin{"--release-id", std::to_string(r.id), "--release-state", "prerelease"};
  REQUIRE(r.upload(kNames, pin).exit_code == 0);
  r.github.set_draft(r.id, true);  // the owner unpublished it
  r.github.clear_requests();
  auto up = r.upload({"vmlinuz-amd64"}, pin);
  CHECK(up.exit_code == 1);
  CHECK(up.err.find(
            "release v1.9.0 of owner/talos-build was unpublished (it is a draft now; the run started from a pre-release)") !=
        std::string::npos);
  auto fin = r.finalize(pin);
  CHECK(fin.exit_code == 1);
  CHECK(fin.err.find("was unpublished") != std::string::npos);
  CHECK(fin.err.find("release left as it was") != std::string::npos);
  CHECK(r.github.release(r.id).draft);
  CHECK(r.github.requests() == Strings{"GET release " + std::to_string(r.id), "GET release " + std::to_string(r.id)});
  // Without the pin (a person finalizing by hand) the draft is what they publish.
  CHECK(r.finalize().exit_code == 0);

  GitHubRelease renamed;
  int64_t other = renamed.github.create_release(kRepo, "v2.0.0");
  auto wrong = renamed.upload(kNames, {"--release-id", std::to_string(other)});
  CHECK(wrong.exit_code == 1);
  CHECK(wrong.err.find("release v1.9.0 of owner/talos-build now has tag 'v2.0.0', not v1.9.0") != std::string::npos);
  renamed.github.delete_release(renamed.id);
  auto gone = renamed.finalize({"--release-id", std::to_string(renamed.id)});
  CHECK(gone.exit_code == 1);
  CHECK(gone.err.find("release id " + std::to_string(renamed.id) + " of owner/talos-build: no such release (deleted?)") !=
        std::string::npos);
  auto bad_state = renamed.finalize({"--release-state", "published"});
  CHECK(bad_state.exit_code == 2);
  auto dir_id = sbpipe({"finalize", "--tag", kTag, "--target", "dir:" + (renamed.dir / "pxe").string(), "--release-id", "5"});
  CHECK(dir_id.exit_code == 2);
  CHECK(dir_id.err.find("--release-id names a GitHub release; a dir: target has none") != std::string::npos);
}

TEST_CASE("F14: finalize --target dir: refuses a tag that is not one path component, writing nothing") {
  TempDir dir;
  fs::create_directories(dir / "root");
  for (const std::string tag : {"../outside", "a/b", ".."}) {
    CAPTURE(tag);
    auto r = sbpipe({"finalize", "--tag", tag, "--target", "dir:" + (dir / "root").string()});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--tag '" + tag + "': not usable as a directory name") != std::string::npos);
  }
  CHECK_FALSE(fs::exists(dir / "outside"));
  CHECK(fs::is_empty(dir / "root"));
}

TEST_CASE("F18: an upload_url on a host that is not GitHub's own gets no token and no bytes") {
  GitHubRelease r;
  r.github.with_faults([](StandInFaults& f) { f.upload_url_origin = "http://uploads.attacker.invalid"; });
  auto up = r.upload(kNames);
  CHECK(up.exit_code == 1);
  CHECK(
      up.err.find("GitHub answered an upload_url on http://uploads.attacker.invalid, which is neither the API host 127.0.0.1 nor "
                  "its uploads host; refusing to send the token there") != std::string::npos);
  CHECK(count_prefix(r.github.requests(), "POST upload") == 0);
  CHECK(up.err.find(r.github.token()) == std::string::npos);
}

}  // TEST_SUITE("integration")

}  // namespace sbpipe::test

// Unit tests of the release-publishing logic: asset names, the checksum
// files, release notes, and the GitHub client's retry and rate-limit
// handling against a scripted HTTP fake and a clock that does not sleep.

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "core/sha256.h"
#include "github/api.h"
#include "pipeline/run_state.h"
#include "release/assets.h"
#include "release/checksums.h"
#include "release/release_notes.h"
#include "release/upgrade_ref.h"
#include "support/process.h"
#include "unit/fakes.h"

using namespace sbpipe;
using namespace sbpipe::test;
namespace fs = std::filesystem;

TEST_SUITE("unit") {

TEST_CASE("asset names GitHub would rewrite are refused with the reason") {
  for (const char* ok : {"metal-amd64-secureboot.iso", "vmlinuz-amd64", "initramfs-amd64.xz", "a_b+c.tar"})
    CHECK_MESSAGE(check_asset_name(ok).has_value(), ok);
  auto spaced = check_asset_name("my file.iso");
  REQUIRE_FALSE(spaced);
  CHECK(spaced.error().message() ==
        "asset name 'my file.iso': holds a character GitHub would rewrite (allowed: letters, digits, . - _ +)");
  CHECK(check_asset_name(".hidden").error().message().find("starts or ends with '.'") != std::string::npos);
  CHECK(check_asset_name("").error().kind() == ErrorKind::usage);
  CHECK(check_asset_name(std::string(256, 'a')).error().message().find("longer than 255") != std::string::npos);
}

TEST_CASE("content types follow the extension") {
  CHECK(content_type_for("metal-amd64.iso") == "application/x-iso9660-image");
  CHECK(content_type_for("initramfs-amd64.xz") == "application/x-xz");
  CHECK(content_type_for("sha256sums.txt") == "text/plain; charset=utf-8");
  CHECK(content_type_for("vmlinuz-amd64") == "application/octet-stream");
}

TEST_CASE("checksum files are written sorted in sha256sum's format and read back") {
  ChecksumList list{{"zeta.iso", std::string(64, 'b')}, {"alpha.xz", std::string(64, 'a')}};
  std::string text = format_checksums(list);
  CHECK(text == std::string(64, 'a') + "  alpha.xz\n" + std::string(64, 'b') + "  zeta.iso\n");
  auto parsed = parse_checksums(text, DigestKind::sha256, "sums");
  REQUIRE(parsed);
  CHECK(*parsed == list);
  auto generated = checksum_asset(k_sha256_sums, list);
  CHECK(generated.name == "sha256sum.txt");
  CHECK(generated.size == text.size());
  CHECK(generated.sha256 == Sha256::hex_of(text));
  ChecksumList long_list{{"a", std::string(128, 'c')}};
  CHECK(parse_checksums(format_checksums(long_list), DigestKind::sha512, "s")->at("a") == std::string(128, 'c'));
  for (const char* name : {"sha256sum.txt", "sha512sum.txt", "sha256sums.txt"}) CHECK(is_checksum_file(name));
  CHECK_FALSE(is_checksum_file("sha1sum.txt"));
}

TEST_CASE("checksum parsing: binary mode and upper case accepted; bad lines named by number") {
  auto binary = parse_checksums(std::string(64, 'A') + " *x.iso\r\n\n", DigestKind::sha256, "f");
  REQUIRE(binary);
  CHECK(binary->at("x.iso") == std::string(64, 'a'));
  auto short_line = parse_checksums(std::string(64, 'a') + "  a\nnot a line\n", DigestKind::sha256, "sums.txt");
  REQUIRE_FALSE(short_line);
  CHECK(short_line.error().message() == "sums.txt line 2: expected '<sha256>  <name>'");
  auto not_hex = parse_checksums(std::string(63, 'a') + "g  x\n", DigestKind::sha256, "s");
  CHECK(not_hex.error().message() == "s line 1: not a sha256 hex digest");
  auto twice = parse_checksums(std::string(64, 'a') + "  x\n" + std::string(64, 'b') + "  x\n", DigestKind::sha256, "s");
  CHECK(twice.error().message() == "s line 2: 'x' is listed twice");
  auto sha256_as_512 = parse_checksums(std::string(64, 'a') + "  x\n", DigestKind::sha512, "s");
  CHECK(sha256_as_512.error().message() == "s line 1: expected '<sha512>  <name>'");
}

TEST_CASE("release notes: the sbpipe section is appended once and then replaced in place") {
  ReleaseFacts facts{"v1.9.0",
                     "ghcr.io/me/installer:v1.9.0@sha256:" + std::string(64, 'e'),
                     {"ghcr.io/siderolabs/gvisor:1"},
                     {"lockdown=integrity"},
                     {{"a.iso", std::string(64, 'a')}}};
  std::string section = notes_section(facts);
  CHECK(section.starts_with(k_notes_begin));
  CHECK(section.ends_with(std::string(k_notes_end) + "\n"));
  CHECK(section.find("- Installer: `ghcr.io/me/installer:v1.9.0@sha256:" + std::string(64, 'e') + "`\n") != std::string::npos);
  CHECK(section.find("- Upgrade: `talosctl upgrade --image ghcr.io/me/installer@sha256:" + std::string(64, 'e') + "`\n") !=
        std::string::npos);
  CHECK(section.find("installer:v1.9.0@sha256:" + std::string(64, 'e') + "`\n- Upgrade") != std::string::npos);
  CHECK(section.find("| `a.iso` | `" + std::string(64, 'a') + "` |") != std::string::npos);

  std::string once = merge_notes("Built by CI.\n\n", section);
  CHECK(once == "Built by CI.\n\n" + section);
  CHECK(merge_notes(once, section) == once);  // idempotent
  facts.version = "v1.9.1";
  std::string replaced = merge_notes(once + "\nFooter by a person.\n", notes_section(facts));
  CHECK(replaced.starts_with("Built by CI.\n\n"));
  CHECK(replaced.find("v1.9.1") != std::string::npos);
  CHECK(replaced.find("`v1.9.0`") == std::string::npos);
  CHECK(replaced.ends_with("\nFooter by a person.\n"));
  CHECK(merge_notes("", section) == section);
  // A begin marker whose end was deleted by hand: the section runs to the end.
  CHECK(merge_notes("top\n" + std::string(k_notes_begin) + "\nstale", section) == "top\n" + section);
}

TEST_CASE("upgrade reference: the tag is dropped beside a digest, a registry port is kept") {
  const std::string digest = "@sha256:" + std::string(64, 'c');
  CHECK(upgrade_image_ref("ghcr.io/me/installer:v1.14.0" + digest) == "ghcr.io/me/installer" + digest);
  CHECK(upgrade_image_ref("127.0.0.1:5000/owner/installer:v1.9.0" + digest) == "127.0.0.1:5000/owner/installer" + digest);
  CHECK(upgrade_image_ref("127.0.0.1:5000/owner/installer" + digest) == "127.0.0.1:5000/owner/installer" + digest);
  CHECK(upgrade_image_ref("localhost:5000/installer" + digest) == "localhost:5000/installer" + digest);
  CHECK(upgrade_image_ref("ghcr.io/me/installer:v1.9.0") == "ghcr.io/me/installer:v1.9.0");  // no digest: as given
}

TEST_CASE("release notes: before upgrading, the --image to pass and PCR 7; old notes with the tagged form still read") {
  const std::string tagged = "ghcr.io/me/installer:v1.14.0@sha256:" + std::string(64, 'd');
  ReleaseFacts facts{"v1.14.0", tagged, {}, {}, {}};
  facts.notices.push_back("key rotation: stated first");
  std::string section = notes_section(facts);
  auto rotation = section.find("- **Before upgrading:** key rotation: stated first\n");
  auto image = section.find("- **Before upgrading:** give `talosctl upgrade` this release's installer with `--image`");
  auto pcr7 = section.find("- **Before upgrading:** a firmware update, or a change to the enrolled db or dbx, changes PCR 7");
  REQUIRE(rotation != std::string::npos);
  REQUIRE(image != std::string::npos);
  REQUIRE(pcr7 != std::string::npos);
  CHECK(rotation < image);
  CHECK(image < pcr7);
  CHECK(section.find("Image Factory's `metal-installer`, not a SecureBoot one") != std::string::npos);
  CHECK(section.find("siderolabs/talos#10205") != std::string::npos);
  CHECK(installer_in_notes(section) == tagged);
  // Without an installer there is no --image to name, but PCR 7 still applies.
  CHECK(upgrade_notices(ReleaseFacts{"v1.14.0", "", {}, {}, {}}).size() == 1);

  // Notes an older sbpipe wrote (the tagged form on both lines) keep naming
  // their installer, and finalize rewrites their Upgrade line.
  std::string old_notes = std::string(k_notes_begin) + "\n### SecureBoot build\n\n- Version: `v1.14.0`\n- Installer: `" + tagged +
                          "`\n- Upgrade: `talosctl upgrade --image " + tagged + "`\n" + std::string(k_notes_end) + "\n";
  CHECK(installer_in_notes(old_notes) == tagged);
  ReleaseFacts again{"v1.14.0", installer_in_notes(old_notes), {}, {}, {}};
  std::string merged = merge_notes(old_notes, notes_section(again));
  CHECK(merged.find("talosctl upgrade --image " + tagged) == std::string::npos);
  CHECK(merged.find("talosctl upgrade --image ghcr.io/me/installer@sha256:" + std::string(64, 'd')) != std::string::npos);
}

namespace {

struct ApiFixture {
  FakeHttp http;
  FakeClock clock;
  GitHubOptions options;
  ApiFixture() {
    options.api_base = "https://api.example/";
    options.policy.max_attempts = 3;
    options.policy.base_delay = std::chrono::milliseconds(100);
    options.max_rate_limit_wait = std::chrono::seconds(120);
  }
  GitHubApi api() { return GitHubApi(http, clock, "tok-secret-1234", options); }
};

std::string release_body(bool draft) {
  return nlohmann::json{{"id", 7},
                        {"tag_name", "v1"},
                        {"draft", draft},
                        {"prerelease", true},
                        {"upload_url", "https://uploads.example/repos/o/r/releases/7/assets{?name,label}"}}
      .dump();
}

}  // namespace

TEST_CASE("GitHubApi: a draft is found by listing when releases/tags answers 404") {
  ApiFixture f;
  f.http.reply(404, {}, R"({"message":"Not Found"})");
  f.http.reply(200, {}, "[" + nlohmann::json{{"id", 6}, {"tag_name", "v0"}}.dump() + "," + release_body(true) + "]");
  auto api = f.api();
  auto release = api.find_release(RepoName{"o", "r"}, "v1");
  REQUIRE(release);
  CHECK(release->id == 7);
  CHECK(release->draft);
  REQUIRE(f.http.requests.size() == 2);
  CHECK(f.http.requests[0].url == "https://api.example/repos/o/r/releases/tags/v1");
  CHECK(f.http.requests[1].url == "https://api.example/repos/o/r/releases?per_page=100&page=1");
  CHECK(find_header(f.http.requests[0].headers, "Authorization") == "Bearer tok-secret-1234");
  CHECK(find_header(f.http.requests[0].headers, "X-GitHub-Api-Version") == "2022-11-28");
  CHECK(find_header(f.http.requests[0].headers, "Accept") == "application/vnd.github+json");
}

TEST_CASE("GitHubApi: no release, published or draft: not_found with the command that creates the pre-release") {
  ApiFixture f;
  f.http.reply(404, {}, R"({"message":"Not Found"})");
  f.http.reply(200, {}, "[" + nlohmann::json{{"id", 6}, {"tag_name", "v0"}}.dump() + "]");
  auto missing = f.api().find_release(RepoName{"o", "r"}, "v1.12.9");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind() == ErrorKind::not_found);
  CHECK(missing.error().message() ==
        "GitHub: release v1.12.9 of o/r: no such release (neither published nor draft); create it as a pre-release (README, "
        "step 2): gh release create v1.12.9 --repo o/r --prerelease --verify-tag");
}

TEST_CASE("GitHubApi: the primary rate limit waits until x-ratelimit-reset") {
  ApiFixture f;
  auto reset = std::chrono::duration_cast<std::chrono::seconds>(f.clock.wall_now().time_since_epoch()).count() + 30;
  f.http.reply(403, {{"x-ratelimit-remaining", "0"}, {"x-ratelimit-reset", std::to_string(reset)}},
               R"({"message":"API rate limit exceeded"})");
  f.http.reply(200, {}, release_body(false));
  auto api = f.api();
  REQUIRE(api.find_release(RepoName{"o", "r"}, "v1"));
  REQUIRE(f.clock.slept.size() == 1);
  CHECK(f.clock.slept[0] == std::chrono::seconds(31));
}

TEST_CASE("GitHubApi: a secondary limit honours retry-after; a plain 403 is not retried") {
  ApiFixture f;
  f.http.reply(403, {{"retry-after", "7"}}, R"({"message":"You have exceeded a secondary rate limit"})");
  f.http.reply(429, {}, R"({"message":"slow down"})");
  f.http.reply(200, {}, release_body(false));
  auto api = f.api();
  REQUIRE(api.find_release(RepoName{"o", "r"}, "v1"));
  REQUIRE(f.clock.slept.size() == 2);
  CHECK(f.clock.slept[0] == std::chrono::seconds(7));
  CHECK(f.clock.slept[1] == std::chrono::seconds(60));  // no header: at least a minute

  ApiFixture g;
  g.http.reply(403, {{"x-ratelimit-remaining", "4999"}}, R"({"message":"Resource not accessible by integration"})");
  auto api2 = g.api();
  auto denied = api2.find_release(RepoName{"o", "r"}, "v1");
  REQUIRE_FALSE(denied);
  CHECK(denied.error().kind() == ErrorKind::auth);
  CHECK(denied.error().message() == "GitHub: release v1 of o/r: HTTP 403: Resource not accessible by integration");
  CHECK(g.http.requests.size() == 1);
  CHECK(g.clock.slept.empty());
}

TEST_CASE("GitHubApi: a rate limit longer than the allowed wait fails without waiting") {
  ApiFixture f;
  auto reset = std::chrono::duration_cast<std::chrono::seconds>(f.clock.wall_now().time_since_epoch()).count() + 3000;
  f.http.reply(403, {{"x-ratelimit-remaining", "0"}, {"x-ratelimit-reset", std::to_string(reset)}}, "{}");
  auto api = f.api();
  auto r = api.find_release(RepoName{"o", "r"}, "v1");
  REQUIRE_FALSE(r);
  CHECK(r.error().message().find("GitHub rate limit exhausted (resets in 3001 s); not waiting longer than 120 s") !=
        std::string::npos);
  CHECK(f.clock.slept.empty());
}

TEST_CASE("GitHubApi: 5xx is retried for API calls but an upload's 502 is left to the caller") {
  ApiFixture f;
  f.http.reply(502);
  f.http.reply_error(ErrorKind::transient);
  f.http.reply(200, {}, "[]");
  auto api = f.api();
  auto assets = api.list_assets(RepoName{"o", "r"}, 7);
  REQUIRE(assets);
  CHECK(assets->empty());
  CHECK(f.http.requests.size() == 3);

  f.http.requests.clear();
  f.http.reply(502);
  Release release;
  release.tag_name = "v1";
  release.upload_url = "https://uploads.example/repos/o/r/releases/7/assets{?name,label}";
  auto uploaded = api.upload_asset(release, "a b.iso", "application/x-iso9660-image", 3, memory_opener("abc"));
  REQUIRE_FALSE(uploaded);
  CHECK(uploaded.error().kind() == ErrorKind::transient);
  REQUIRE(f.http.requests.size() == 1);
  CHECK(f.http.requests[0].url == "https://uploads.example/repos/o/r/releases/7/assets?name=a%20b.iso");
  CHECK(f.http.requests[0].body == "abc");
}

TEST_CASE("GitHubApi: 422 already_exists is a conflict; other 422s are permanent") {
  ApiFixture f;
  f.http.reply(
      422, {},
      R"({"message":"Validation Failed","errors":[{"resource":"ReleaseAsset","code":"already_exists","field":"name"}]})");
  f.http.reply(422, {}, R"({"message":"Cannot upload assets to an immutable release."})");
  auto api = f.api();
  Release release;
  release.upload_url = "https://uploads.example/x/assets{?name,label}";
  auto dup = api.upload_asset(release, "a", "text/plain", 1, memory_opener("a"));
  CHECK(dup.error().kind() == ErrorKind::conflict);
  CHECK(dup.error().message() == "GitHub: upload a: HTTP 422: Validation Failed (name already_exists)");
  auto immutable = api.upload_asset(release, "a", "text/plain", 1, memory_opener("a"));
  CHECK(immutable.error().kind() == ErrorKind::permanent);
  CHECK(immutable.error().message() == "GitHub: upload a: HTTP 422: Cannot upload assets to an immutable release.");
}

TEST_CASE("GitHubApi: a release by id (drafts too); a deleted one is not_found naming the id") {
  ApiFixture f;
  f.http.reply(200, {}, release_body(true));
  f.http.reply(404, {}, R"({"message":"Not Found"})");
  auto api = f.api();
  auto found = api.get_release(RepoName{"o", "r"}, 7);
  REQUIRE(found);
  CHECK(found->draft);
  CHECK(f.http.requests[0].url == "https://api.example/repos/o/r/releases/7");
  auto gone = api.get_release(RepoName{"o", "r"}, 8);
  REQUIRE_FALSE(gone);
  CHECK(gone.error().kind() == ErrorKind::not_found);
  CHECK(gone.error().message() == "GitHub: release id 8 of o/r: no such release (deleted?)");
}

TEST_CASE("GitHubApi: several drafts with one tag are refused by tag, naming their ids") {
  ApiFixture f;
  f.http.reply(404, {}, R"({"message":"Not Found"})");
  auto other = nlohmann::json::parse(release_body(true));
  other["id"] = 9;
  f.http.reply(200, {}, "[" + other.dump() + "," + release_body(true) + "]");
  auto api = f.api();
  auto found = api.find_release(RepoName{"o", "r"}, "v1");
  REQUIRE_FALSE(found);
  CHECK(found.error().kind() == ErrorKind::conflict);
  CHECK(found.error().message() ==
        "GitHub: release v1 of o/r: 2 draft releases carry this tag (ids 9, 7); pass --release-id to pick one");
}

TEST_CASE("GitHubApi: the token goes only to GitHub's own upload host; any other upload_url is refused unsent (F18)") {
  struct Case {
    std::string api, upload;
    bool allowed;
  };
  std::vector<Case> cases{
      {"https://api.github.com", "https://uploads.github.com/repos/o/r/releases/7/assets{?name,label}", true},
      {"https://api.octo.ghe.com", "https://uploads.octo.ghe.com/repos/o/r/releases/7/assets{?name,label}", true},
      {"https://ghe.example/api/v3", "https://ghe.example/api/uploads/repos/o/r/releases/7/assets{?name,label}", true},
      {"http://127.0.0.1:8080", "http://127.0.0.1:8081/repos/o/r/releases/7/assets{?name,label}",
       true},  // ports are not compared
      {"https://api.github.com", "https://uploads.evil.example/repos/o/r/releases/7/assets", false},
      {"https://api.github.com", "https://api.github.com.evil.example/x/assets", false},
      {"https://api.github.com", "http://uploads.github.com/x/assets", false},  // no downgrade to plain HTTP
      {"https://ghe.example/api/v3", "https://user@other.example/x/assets", false},
      {"https://api.github.com", "not a url", false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.upload);
    ApiFixture f;
    f.options.api_base = c.api;
    f.http.reply(201, {}, R"({"id":1,"name":"a","state":"uploaded","size":1})");
    auto api = f.api();
    Release release;
    release.tag_name = "v1";
    release.upload_url = c.upload;
    auto uploaded = api.upload_asset(release, "a", "text/plain", 1, memory_opener("a"));
    CHECK(uploaded.has_value() == c.allowed);
    CHECK(f.http.requests.size() == (c.allowed ? 1u : 0u));
    if (!c.allowed) {
      CHECK(uploaded.error().kind() == ErrorKind::permanent);
      CHECK(uploaded.error().message().find("refusing to send the token there") != std::string::npos);
    }
  }
}

TEST_CASE("RepoName parsing") {
  CHECK(RepoName::parse("siderolabs/talos")->str() == "siderolabs/talos");
  for (const char* bad : {"talos", "a/b/c", "/b", "a/", "a b/c", "../x"})
    CHECK_MESSAGE(RepoName::parse(bad).error().message() == "--repo '" + std::string(bad) + "': expected OWNER/NAME", bad);
}

}  // TEST_SUITE("unit")

TEST_SUITE("unit") {

TEST_CASE("open_hashing: the sha256 is known at the last byte; a file that changed is an error") {
  LocalAsset asset{"a.txt", 5, "", "", "text/plain", "a.txt", memory_opener("hello")};
  auto source = open_hashing(asset);
  REQUIRE(source);
  char buffer[2];
  std::string seen;
  while (asset.sha256.empty()) {
    auto n = (*source)->read(buffer);
    REQUIRE(n);
    REQUIRE(*n > 0);
    seen.append(buffer, *n);
  }
  CHECK(seen == "hello");  // finished without needing an end-of-stream read
  CHECK(asset.sha256 == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
  CHECK(asset.sha512 == Sha512::hex_of("hello"));

  LocalAsset grown{"b", 3, "", "", "", "b.bin", memory_opener("abcd")};
  auto longer = open_hashing(grown);
  std::string all;
  auto st = drain(**longer, [&](std::span<const char> c) -> Status {
    all.append(c.data(), c.size());
    return {};
  });
  REQUIRE_FALSE(st);
  CHECK(st.error().message() == "b.bin: changed while being published");

  LocalAsset known{"c", 5, std::string(64, '0'), "", "", "c.bin", memory_opener("hello")};
  auto other = open_hashing(known);
  auto st2 = drain(**other, [](std::span<const char>) -> Status { return {}; });
  CHECK_FALSE(st2);
}

TEST_CASE("describe_files checks names and sizes without reading, and refuses duplicates and the checksum files") {
  TempDir dir;
  write_file(dir / "a.iso", "aaaa");
  fs::create_directories(dir / "sub");
  write_file(dir / "sub" / "a.iso", "bbbb");
  write_file(dir / "sha256sums.txt", "x");
  auto ok = describe_files({dir / "a.iso"});
  REQUIRE(ok);
  CHECK((*ok)[0].size == 4);
  CHECK((*ok)[0].sha256.empty());
  CHECK(describe_files({dir / "a.iso", dir / "sub" / "a.iso"}).error().message().find("another file has the same name 'a.iso'") !=
        std::string::npos);
  CHECK(describe_files({dir / "sha256sums.txt"}).error().kind() == ErrorKind::usage);
  write_file(dir / "sha512sum.txt", "x");
  CHECK(describe_files({dir / "sha512sum.txt"}).error().message() ==
        (dir / "sha512sum.txt").string() + ": sha512sum.txt is written by sbpipe; do not pass one");
  CHECK(describe_files({dir / "a.iso"}, 4).error().message() ==
        (dir / "a.iso").string() + ": 4 B is over the 4 B limit of a release asset");
  CHECK(describe_files({dir / "sub"}).error().message() == (dir / "sub").string() + ": not a regular file");
  CHECK(describe_files({dir / "none"}).error().kind() == ErrorKind::not_found);
}

}  // TEST_SUITE("unit")

TEST_SUITE("unit") {

TEST_CASE("run state: one holder per version, a journal that survives reopening, a damaged one refused") {
  TempDir dir;
  {
    auto first = RunState::open(dir.path(), "v1.9.0", false);
    REQUIRE(first);
    CHECK_FALSE(first->done("push-installer"));
    CHECK(first->output("push-installer").is_null());
    REQUIRE(first->record("push-installer", {{"digest", "sha256:" + std::string(64, 'a')}}));
    auto second = RunState::open(dir.path(), "v1.9.0", false);
    REQUIRE_FALSE(second);
    CHECK(second.error().kind() == ErrorKind::conflict);
    CHECK(second.error().message().find("version v1.9.0 is being run by another process (pid ") != std::string::npos);
    auto other = RunState::open(dir.path(), "v1.9.1", false);  // other versions run beside it
    CHECK(other);
  }
  auto again = RunState::open(dir.path(), "v1.9.0", false);  // the lock went with the holder
  REQUIRE(again);
  CHECK(again->done("push-installer"));
  CHECK(again->output("push-installer")["digest"] == "sha256:" + std::string(64, 'a'));
  CHECK((fs::status(again->dir() / "journal.json").permissions() & fs::perms::group_read) == fs::perms::none);

  write_file(dir / "v2" / "journal.json", "{\"steps\": [1]}");
  CHECK(RunState::open(dir.path(), "v2", false).error().message().find("damaged") != std::string::npos);
  CHECK(RunState::open(dir.path(), "../x", false).error().kind() == ErrorKind::usage);
}

}  // TEST_SUITE("unit")

// The publishing rules written once for every target (release/publish.h,
// release/finalize.h), against an in-memory target: the checksum files
// describe the whole release and never shrink, finalize refuses any asset
// that is unlisted, absent, incomplete or different, the pin holds, and the
// installer line survives a finalize without --installer-ref.

#include <doctest/doctest.h>

#include "core/sha256.h"
#include "release/finalize.h"
#include "release/publish.h"
#include "support/fake_target.h"

using namespace sbpipe;
using namespace sbpipe::test;
using Strings = std::vector<std::string>;

namespace {

LocalAsset local(const std::string& name, const std::string& content) {
  LocalAsset a{name, content.size(), "", "", "application/octet-stream", name, memory_opener(content)};
  return a;
}

std::string line256(const std::string& name, const std::string& content) { return Sha256::hex_of(content) + "  " + name + "\n"; }
std::string line512(const std::string& name, const std::string& content) { return Sha512::hex_of(content) + "  " + name + "\n"; }

const PublishRequest k_publish{ReleasePin{"v1", std::nullopt}, AllowPublished::no};

Result<std::vector<AssetReport>> publish(FakeTarget& t, std::vector<LocalAsset> files, const PublishRequest& r = k_publish) {
  return publish_release(t, files, r);
}

// A release as a first upload-assets leaves it: a.iso and b.iso, listed.
FakeTarget published_release() {
  FakeTarget t;
  REQUIRE(publish(t, {local("a.iso", "AAAA"), local("b.iso", "BBBB")}));
  t.calls.clear();
  return t;
}

FinalizeRequest finalize_request(std::optional<ReleaseState> started = std::nullopt) {
  FinalizeRequest r;
  r.pin = ReleasePin{"v1", started};
  r.facts.version = "v1";
  return r;
}

}  // namespace

TEST_SUITE("unit") {

TEST_CASE("publish: the files, then sha512sum.txt, then sha256sum.txt, listing every asset") {
  FakeTarget t;
  auto reports = publish(t, {local("b.iso", "BBBB"), local("a.iso", "AAAA")});
  REQUIRE(reports);
  CHECK(t.calls == Strings{"open", "put b.iso", "put a.iso", "put sha512sum.txt", "put sha256sum.txt"});
  REQUIRE(reports->size() == 4);
  CHECK((*reports)[3].name == "sha256sum.txt");
  CHECK(t.content("sha256sum.txt") == line256("a.iso", "AAAA") + line256("b.iso", "BBBB"));
  CHECK(t.content("sha512sum.txt") == line512("a.iso", "AAAA") + line512("b.iso", "BBBB"));
}

TEST_CASE("publish: re-uploading one changed file keeps every other asset in the checksum files") {
  auto t = published_release();
  auto reports = publish(t, {local("b.iso", "B2B2")});
  REQUIRE(reports);
  CHECK(t.calls ==
        Strings{"open", "read sha256sum.txt", "read sha512sum.txt", "put b.iso", "put sha512sum.txt", "put sha256sum.txt"});
  CHECK(t.content("sha256sum.txt") == line256("a.iso", "AAAA") + line256("b.iso", "B2B2"));
  CHECK(t.content("sha512sum.txt") == line512("a.iso", "AAAA") + line512("b.iso", "B2B2"));  // a.iso's carried over, not read
}

TEST_CASE("publish: an asset no listing has is listed by its digest; without a digest it is read") {
  auto t = published_release();
  t.add("c.raw", "CCCC");  // uploaded by hand, or left unlisted by an older sbpipe
  REQUIRE(publish(t, {local("b.iso", "BBBB")}));
  CHECK(t.content("sha256sum.txt") == line256("a.iso", "AAAA") + line256("b.iso", "BBBB") + line256("c.raw", "CCCC"));
  CHECK(t.content("sha512sum.txt").find(line512("c.raw", "CCCC")) != std::string::npos);
  CHECK(std::count(t.calls.begin(), t.calls.end(), "read c.raw") == 1);  // no sha512 known for it

  auto blind = published_release();
  blind.digests_known = false;
  blind.add("c.raw", "CCCC");
  REQUIRE(publish(blind, {local("b.iso", "BBBB")}));
  CHECK(std::count(blind.calls.begin(), blind.calls.end(), "read a.iso") == 1);
  CHECK(std::count(blind.calls.begin(), blind.calls.end(), "read c.raw") == 1);
  CHECK(blind.content("sha256sum.txt") == t.content("sha256sum.txt"));
}

TEST_CASE("publish: the listing never shrinks; a listed asset that is gone or changed stops it before any change") {
  SUBCASE("gone") {
    auto t = published_release();
    t.files.erase("a.iso");
    auto refused = publish(t, {local("b.iso", "B2B2")});
    REQUIRE_FALSE(refused);
    CHECK(refused.error().kind() == ErrorKind::invalid_input);
    CHECK(
        refused.error().message() ==
        "release v1: the checksum files would no longer describe the release: a.iso is listed in sha256sum.txt but is no longer "
        "an asset; pass the file to publish it again; nothing was changed");
    CHECK(t.content("b.iso") == "BBBB");
    CHECK(publish(t, {local("a.iso", "AAAA"), local("b.iso", "B2B2")}));  // given again: fine
  }
  SUBCASE("changed outside sbpipe") {
    auto t = published_release();
    t.files["a.iso"].content = "XXXX";
    auto refused = publish(t, {local("b.iso", "B2B2")});
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message().find("a.iso has sha256 " + Sha256::hex_of("XXXX").substr(0, 16) + "..., sha256sum.txt says " +
                                         Sha256::hex_of("AAAA").substr(0, 16) + "...") != std::string::npos);
    CHECK(t.calls == Strings{"open", "read sha256sum.txt", "read sha512sum.txt"});
  }
  SUBCASE("a listing that does not parse") {
    auto t = published_release();
    t.files["sha256sum.txt"].content = "not a checksum line\n";
    auto refused = publish(t, {local("b.iso", "B2B2")});
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message() == "release v1 sha256sum.txt line 1: expected '<sha256>  <name>'");
  }
}

TEST_CASE("publish: an old sha256sums.txt is read as the listing, then replaced by the two new files") {
  FakeTarget t;
  t.add("a.iso", "AAAA");
  t.add("b.iso", "BBBB");
  t.add("sha256sums.txt", line256("b.iso", "BBBB"));  // shrunk by the old bug: a.iso unlisted
  REQUIRE(publish(t, {local("b.iso", "BBBB")}));
  CHECK_FALSE(t.files.count("sha256sums.txt"));
  CHECK(t.calls.back() == "remove sha256sums.txt");
  CHECK(t.content("sha256sum.txt") == line256("a.iso", "AAAA") + line256("b.iso", "BBBB"));
}

TEST_CASE("publish: broken leftovers are cleaned up first; a full release needs AllowPublished") {
  FakeTarget t;
  t.files["a.iso"] = FakeAsset{"AA", false, "starter"};
  REQUIRE(publish(t, {local("a.iso", "AAAA")}));
  CHECK(t.calls[1] == "remove a.iso");
  CHECK(t.content("a.iso") == "AAAA");

  t.info.state = ReleaseState::released;
  auto refused = publish(t, {local("a.iso", "AAAA")});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind() == ErrorKind::permanent);
  CHECK(refused.error().message() == "release v1 is already a full release; refusing to change its assets (--allow-published)");
  CHECK(publish(t, {local("a.iso", "AAAA")}, PublishRequest{ReleasePin{"v1", std::nullopt}, AllowPublished::yes}));
}

TEST_CASE("the pin: another tag, unpublished, or published meanwhile is refused, naming what changed") {
  FakeTarget t;
  t.info.tag = "v2";
  CHECK(publish(t, {local("a.iso", "A")}).error().message() ==
        "release v1 now has tag 'v2', not v1; this run was started for v1 and changes nothing else");
  t.info.tag = "v1";
  t.info.state = ReleaseState::draft;
  PublishRequest pinned{ReleasePin{"v1", ReleaseState::prerelease}, AllowPublished::no};
  auto unpublished = publish(t, {local("a.iso", "A")}, pinned);
  REQUIRE_FALSE(unpublished);
  CHECK(unpublished.error().kind() == ErrorKind::invalid_input);
  CHECK(unpublished.error().message() ==
        "release v1 was unpublished (it is a draft now; the run started from a pre-release); nothing "
        "more is published for it; publish it again to start a new run");
  CHECK(t.files.empty());
  t.info.state = ReleaseState::prerelease;
  auto published = publish(t, {local("a.iso", "A")}, PublishRequest{ReleasePin{"v1", ReleaseState::draft}, AllowPublished::no});
  CHECK(published.error().message() ==
        "release v1 is a pre-release now, but the run started from a draft; refusing to change it; start a new run for it as it "
        "is now");
  CHECK(parse_release_state("published", "--release-state").error().message() ==
        "--release-state 'published': expected prerelease or draft");
}

TEST_CASE("finalize: a complete release is flipped once, with the checksums in the notes") {
  auto t = published_release();
  t.info.notes = "Built by CI.";
  auto done = finalize_release(t, finalize_request());
  REQUIRE(done);
  CHECK(done->changed);
  CHECK(t.info.state == ReleaseState::released);
  CHECK(t.info.notes.starts_with("Built by CI.\n\n" + std::string(k_notes_begin)));
  CHECK(t.info.notes.find("| `a.iso` | `" + Sha256::hex_of("AAAA") + "` |") != std::string::npos);
  t.calls.clear();
  auto again = finalize_release(t, finalize_request());
  REQUIRE(again);
  CHECK_FALSE(again->changed);
  CHECK(t.calls == Strings{"open", "read sha256sum.txt", "read sha512sum.txt"});
}

TEST_CASE("finalize refuses, release left as it was: every asset must be listed, present, complete and the same") {
  struct Case {
    const char* name;
    std::function<void(FakeTarget&)> spoil;
    std::string problem;
  };
  std::vector<Case> cases{
      {"unlisted asset", [](FakeTarget& t) { t.add("extra.iso", "E"); }, "extra.iso is not listed in sha256sum.txt"},
      {"deleted line", [](FakeTarget& t) { t.files["sha256sum.txt"].content = line256("b.iso", "BBBB"); },
       "a.iso is not listed in sha256sum.txt; sha512sum.txt lists a.iso, which sha256sum.txt does not"},
      {"absent", [](FakeTarget& t) { t.files.erase("a.iso"); }, "a.iso is missing"},
      {"incomplete",
       [](FakeTarget& t) {
         t.files["a.iso"] = FakeAsset{"AA", false, "starter"};
       },
       "a.iso is incomplete (starter)"},
      {"different", [](FakeTarget& t) { t.files["a.iso"].content = "XXXX"; },
       "a.iso has sha256 " + Sha256::hex_of("XXXX").substr(0, 16) + "..., sha256sum.txt says " +
           Sha256::hex_of("AAAA").substr(0, 16) + "..."},
      {"legacy file beside the new ones", [](FakeTarget& t) { t.add("sha256sums.txt", ""); },
       "sha256sums.txt is left from an older sbpipe beside sha256sum.txt (run upload-assets again: it removes it)"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto t = published_release();
    c.spoil(t);
    auto refused = finalize_release(t, finalize_request());
    REQUIRE_FALSE(refused);
    CHECK(refused.error().kind() == ErrorKind::invalid_input);
    CHECK(refused.error().message() == "release v1 is not complete: " + c.problem + "; release left as it was");
    CHECK(t.info.state == ReleaseState::prerelease);
    CHECK(std::find(t.calls.begin(), t.calls.end(), "released") == t.calls.end());
  }
  auto no_512 = published_release();
  no_512.files.erase("sha512sum.txt");
  CHECK(finalize_release(no_512, finalize_request()).error().message() ==
        "release v1 has sha256sum.txt but no sha512sum.txt (an interrupted upload-assets?): run upload-assets again; release "
        "left as it was");
  FakeTarget empty;
  CHECK(finalize_release(empty, finalize_request()).error().message() ==
        "release v1 has no sha256sum.txt: run upload-assets first; release left as it was");
}

TEST_CASE("finalize: read when no digest is known, both digests are checked; an old sha256sums.txt alone still passes") {
  auto t = published_release();
  t.digests_known = false;
  t.files["sha512sum.txt"].content = line512("a.iso", "XXXX") + line512("b.iso", "BBBB");
  auto refused = finalize_release(t, finalize_request());
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message().find("a.iso has sha512 " + Sha512::hex_of("AAAA").substr(0, 16)) != std::string::npos);

  FakeTarget old;
  old.add("a.iso", "AAAA");
  old.add("sha256sums.txt", line256("a.iso", "AAAA"));
  CHECK(finalize_release(old, finalize_request()));
}

TEST_CASE("finalize: a release unpublished since the run started is not turned into a full release") {
  auto t = published_release();
  t.info.state = ReleaseState::draft;
  auto refused = finalize_release(t, finalize_request(ReleaseState::prerelease));
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message() ==
        "release v1 was unpublished (it is a draft now; the run started from a pre-release); nothing "
        "more is published for it; publish it again to start a new run; release left as it was");
  CHECK(t.info.state == ReleaseState::draft);
  CHECK(t.calls == Strings{"open"});
  // A draft started as a draft (immutable releases) is what finalize publishes.
  CHECK(finalize_release(t, finalize_request(ReleaseState::draft)));
  CHECK(t.info.state == ReleaseState::released);
  // Released by its own earlier run: accepted, nothing to change.
  auto again = finalize_release(t, finalize_request(ReleaseState::draft));
  REQUIRE(again);
  CHECK_FALSE(again->changed);
}

TEST_CASE("finalize without an installer reference keeps the one the notes name, and checks it again") {
  auto t = published_release();
  std::vector<std::string> checked;
  auto request = finalize_request();
  request.facts.installer_ref = "ghcr.io/me/installer:v1@sha256:" + std::string(64, 'e');
  request.check_installer = [&](const std::string& ref) -> Status {
    checked.push_back(ref);
    return {};
  };
  REQUIRE(finalize_release(t, request));
  CHECK(installer_in_notes(t.info.notes) == request.facts.installer_ref);
  auto again = request;
  again.facts.installer_ref.clear();
  again.facts.extensions = {"ghcr.io/siderolabs/gvisor:1"};  // something else changes the notes
  auto kept = finalize_release(t, again);
  REQUIRE(kept);
  CHECK(kept->changed);
  CHECK(t.info.notes.find("- Installer: `" + request.facts.installer_ref + "`") != std::string::npos);
  CHECK(t.info.notes.find("gvisor") != std::string::npos);
  CHECK(checked == Strings{request.facts.installer_ref, request.facts.installer_ref});
  CHECK(t.released_with.installer_ref == request.facts.installer_ref);

  auto failing = again;
  failing.check_installer = [](const std::string&) -> Status { return fail(ErrorKind::invalid_input, "tag moved"); };
  CHECK(finalize_release(t, failing).error().message() ==
        "release v1: installer check failed; release left as it was: tag moved");
}

TEST_CASE("installer_in_notes reads only the sbpipe section's installer line") {
  std::string ref = "r.example/i:v1@sha256:" + std::string(64, 'a');
  ReleaseFacts facts{"v1", ref, {}, {}, {}};
  CHECK(installer_in_notes("top\n\n" + notes_section(facts)) == ref);
  facts.installer_ref.clear();
  CHECK(installer_in_notes(notes_section(facts)).empty());
  CHECK(installer_in_notes("- Installer: `outside/the:section`\n").empty());
}

}  // TEST_SUITE("unit")

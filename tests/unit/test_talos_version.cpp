// Talos versions as talosctl parses a version contract, completed to an
// imager tag, and the supported range in one place (plan/talos_version.h).

#include <doctest/doctest.h>

#include "plan/talos_version.h"

using namespace sbpipe;

TEST_SUITE("unit") {

TEST_CASE("talos version: vMAJOR.MINOR.PATCH[-PRE], nothing else") {
  auto v = parse_talos_version("v1.14.0-rc.1", "--tag");
  REQUIRE(v);
  CHECK(v->major == 1);
  CHECK(v->minor == 14);
  CHECK(v->patch == 0);
  CHECK(v->pre == "rc.1");
  CHECK(v->text() == "v1.14.0-rc.1");
  CHECK(parse_talos_version("v1.12.4", "--tag")->text() == "v1.12.4");
  const std::string rule =
      "a Talos version is vMAJOR.MINOR.PATCH[-PRE], such as v1.12.4 or v1.14.0-rc.1 (sbpipe supports v1.8.3 through the "
      "v1.14 line)";
  for (const char* bad : {"1.12.4", "v1.12", "v1", "latest", "v1.12.4 ", " v1.12.4", "v1.12.4-", "v1.12.4+build.1", "v01.12.4",
                          "v1.012.4", "v1.12.4-rc..1", "v1.12.4-rc_1", "V1.12.4", "v1.12.x", ""}) {
    auto refused = parse_talos_version(bad, "--tag");
    REQUIRE_FALSE(refused);
    CHECK(refused.error().kind() == ErrorKind::usage);
    CHECK(refused.error().message() == "--tag '" + std::string(bad) + "': " + rule);
  }
}

TEST_CASE("talos version: the supported range is v1.8.3 through the newest line, 1.14 included") {
  CHECK(supported_talos_range() == "v1.8.3 through the v1.14 line");
  for (const char* ok : {"v1.8.3", "v1.9.0", "v1.12.4", "v1.13.6", "v1.14.0-alpha.0", "v1.14.0-rc.1", "v1.14.2"})
    CHECK_MESSAGE(supported_talos_version(ok, "--tag"), ok);
  CHECK(supported_talos_version("v1.8.2", "--tag").error().message() ==
        "--tag 'v1.8.2': Talos 1.8 is not supported (sbpipe supports v1.8.3 through the v1.14 line; docs/talos-versions.md)");
  CHECK(supported_talos_version("v1.7.0", "--tag").error().message().find("Talos 1.7 is not supported") != std::string::npos);
  CHECK(supported_talos_version("v1.15.0", "--tag").error().message().find("Talos 1.15 is not supported") != std::string::npos);
  CHECK(supported_talos_version("v2.0.0", "--tag").error().message().find("Talos 2.0 is not supported") != std::string::npos);
}

TEST_CASE("release tag: latest never; a tag that is no Talos version only with imager.talos_version") {
  CHECK(check_release_tag("v1.12.4", ""));
  CHECK(check_release_tag("latest", "").error().message() ==
        "--tag 'latest': a release is built for one Talos version, never for whatever 'latest' is; a Talos version is "
        "vMAJOR.MINOR.PATCH[-PRE], such as v1.12.4 or v1.14.0-rc.1 (sbpipe supports v1.8.3 through the v1.14 line)");
  CHECK(check_release_tag("latest", "v1.12.4").error().kind() == ErrorKind::usage);
  CHECK(check_release_tag("build-42", "").error().message().find("--tag 'build-42': a Talos version is") == 0);
  CHECK(check_release_tag("build-42", "v1.12.4"));
  CHECK(check_release_tag("build-42", "v1.7.0").error().message().find("imager.talos_version 'v1.7.0': Talos 1.7") == 0);
  CHECK(check_release_tag("build 42", "v1.12.4").error().message().find("--tag 'build 42': not an image tag") == 0);
  CHECK(check_release_tag("-x", "v1.12.4").error().kind() == ErrorKind::usage);
}

}  // TEST_SUITE("unit")

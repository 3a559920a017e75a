#include <doctest/doctest.h>

#include "core/base64.h"
#include "core/error.h"
#include "core/redact.h"
#include "core/sha256.h"
#include "oci/digest.h"
#include "oci/reference.h"

using namespace sbpipe;

TEST_SUITE("unit") {

TEST_CASE("redact: registered secrets, URL user-info and Authorization values") {
  TEST_clear_secrets();
  register_secret("hunter2-token");
  register_secret("abc");  // too short to register
  CHECK(redact("token is hunter2-token.") == "token is ***.");
  CHECK(redact("abc stays") == "abc stays");
  CHECK(redact("GET https://user:pa55@ghcr.io/v2/") == "GET https://***@ghcr.io/v2/");
  CHECK(redact("Authorization: Bearer eyJhbGciOi.x.y") == "Authorization: Bearer ***");
  CHECK(redact("authorization: Basic dXNlcjpwYXNz") == "authorization: Basic ***");
  TEST_clear_secrets();
}

TEST_CASE("sha256 and base64") {
  CHECK(Sha256::hex_of("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(Sha256::hex_of("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(base64_encode("robot:bearer-pass-xyz") == "cm9ib3Q6YmVhcmVyLXBhc3MteHl6");
  CHECK(base64_decode("dXNlcjpwYXNz") == std::optional<std::string>("user:pass"));
  CHECK(base64_decode("YQ==") == std::optional<std::string>("a"));
  CHECK(base64_decode("not base64!") == std::nullopt);
}

TEST_CASE("Digest::parse") {
  std::string hex(64, 'a');
  CHECK(Digest::parse("sha256:" + hex)->hex == hex);
  CHECK(Digest::parse("sha512:" + hex).error().message() == "unsupported digest algorithm 'sha512' (only sha256)");
  CHECK(!Digest::parse("sha256:" + std::string(63, 'a')));
  CHECK(!Digest::parse("sha256:" + std::string(64, 'A')));
}

TEST_CASE("Reference::parse") {
  auto ref = Reference::parse("ghcr.io/owner/installer:v1.9.0");
  REQUIRE(ref);
  CHECK(ref->registry == "ghcr.io");
  CHECK(ref->repository == "owner/installer");
  CHECK(ref->tag == "v1.9.0");
  CHECK(Reference::parse("127.0.0.1:5000/a/b:t")->registry == "127.0.0.1:5000");
  CHECK(Reference::parse("localhost/a:t")->repository == "a");
  CHECK(Reference::parse("docker.io/library/x:1")->api_host() == "registry-1.docker.io");

  SUBCASE("errors") {
    CHECK(Reference::parse("owner/installer:v1").error().message() ==
          "--ref 'owner/installer:v1': the first part must name a registry host (e.g. ghcr.io/OWNER/REPO:TAG)");
    CHECK(Reference::parse("ghcr.io/owner/installer").error().message() == "--ref 'ghcr.io/owner/installer': missing :TAG");
    CHECK(Reference::parse("ghcr.io/Owner/installer:v1").error().message() ==
          "--ref 'ghcr.io/Owner/installer:v1': invalid repository name 'Owner/installer'");
    CHECK(Reference::parse("ghcr.io/o/i@sha256:abc").error().kind() == ErrorKind::usage);
    CHECK(Reference::parse("ghcr.io/o/i:-bad").error().message() == "--ref 'ghcr.io/o/i:-bad': invalid tag '-bad'");
    CHECK(Reference::parse("http://127.0.0.1:5000/homelab/installer:v1").error().message() ==
          "--ref 'http://127.0.0.1:5000/homelab/installer:v1': an image reference has no scheme: write "
          "127.0.0.1:5000/homelab/installer:v1 (and --plain-http to speak HTTP)");
    CHECK(ImageRef::parse("https://ghcr.io/o/i:v1", "--previous-ref").error().message() ==
          "--previous-ref 'https://ghcr.io/o/i:v1': an image reference has no scheme: write ghcr.io/o/i:v1");
  }
}

TEST_CASE("Error: exit codes and context") {
  CHECK(Error(ErrorKind::usage, "x").exit_code() == 2);
  CHECK(Error(ErrorKind::config, "x").exit_code() == 2);
  CHECK(Error(ErrorKind::invalid_input, "x").exit_code() == 1);
  CHECK(Error(ErrorKind::transient, "x").retryable());
  CHECK(!Error(ErrorKind::auth, "x").retryable());
  CHECK(Error(ErrorKind::io, "boom").with_context("file.tar").message() == "file.tar: boom");
}

}  // TEST_SUITE("unit")

// src/sigstore keyless pieces: the trusted root (Sigstore's production
// trusted_root.json, as sigstore-python ships it, and what sbpipe refuses in
// one), RFC 3339 times, RFC 6962 audit paths against the RFC's own
// definition written here, and a production keyless bundle (sigstore-python's
// test asset, a GitHub Actions release signature logged in rekor.sigstore.dev)
// checked offline. The end-to-end check against sigstore-js is in
// tests/signatures/keyless_inputs.py.

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "core/base64.h"
#include "core/file.h"
#include "core/hex.h"
#include "core/sha256.h"
#include "core/temp_dir.h"
#include "sigstore/bundle.h"
#include "sigstore/keyless.h"
#include "sigstore/tlog_entry.h"
#include "sigstore/trusted_root.h"
#include "support/process.h"

using namespace sbpipe;

namespace {

// Files from sigstore/sigstore-python (commit 27db13db157ecae5606eb22ec0be299ef348c370):
// sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstore.dev/trusted_root.json and
// test/assets/bundle_v3_github.whl{,.sigstore}.
std::string data(const std::string& name) {
  auto text = read_small_file(test::source_dir() + "/tests/signatures/data/" + name);
  REQUIRE(text.has_value());
  return *text;
}

// RFC 6962 section 2.1, as written there: MTH and PATH.
size_t split_point(size_t n) {
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
std::string mth(const std::vector<std::string>& leaves, size_t from, size_t to) {
  if (to - from == 1) return Sha256::bytes_of(std::string(1, '\0') + leaves[from]);
  size_t k = split_point(to - from);
  return Sha256::bytes_of(std::string(1, '\1') + mth(leaves, from, from + k) + mth(leaves, from + k, to));
}
std::vector<std::string> path(size_t m, const std::vector<std::string>& leaves, size_t from, size_t to) {
  if (to - from == 1) return {};
  size_t k = split_point(to - from);
  std::vector<std::string> out;
  if (m < k) {
    out = path(m, leaves, from, from + k);
    out.push_back(mth(leaves, from + k, to));
  } else {
    out = path(m - k, leaves, from + k, to);
    out.push_back(mth(leaves, from, from + k));
  }
  return out;
}

const char* k_github_issuer = "https://token.actions.githubusercontent.com";
const char* k_release_workflow = "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2";

}  // namespace

TEST_SUITE("unit") {

TEST_CASE("trusted root: Sigstore's production file parses; logs other than ECDSA P-256 are left out") {
  std::string text = data("public-good-trusted_root.json");
  auto root = parse_trusted_root(text, "public-good-trusted_root.json");
  REQUIRE_MESSAGE(root.has_value(), root.error().message());
  auto j = nlohmann::json::parse(text);
  CHECK(root->certificate_authorities.size() == j["certificateAuthorities"].size());
  // The file also names Rekor v2's Ed25519 log, which has no SET to check.
  REQUIRE(j["tlogs"].size() == 2);
  REQUIRE(root->tlogs.size() == 1);
  const auto& log = root->tlogs[0];
  CHECK(log.base_url == "https://rekor.sigstore.dev");
  // Rekor's log ID is the SHA-256 of its DER key.
  CHECK(to_hex(log.key_id) == log.key.fingerprint());
  CHECK(root->log(log.key_id) == &log);
  CHECK(log.valid_for.start == parse_rfc3339("2021-01-12T11:53:27Z"));
  CHECK(!log.valid_for.end);
  CHECK(root->certificate_authorities[0].valid_for.end == parse_rfc3339("2022-12-31T23:59:59Z"));
}

TEST_CASE("trusted root: one error naming the file and the field") {
  auto good = nlohmann::json::parse(data("public-good-trusted_root.json"));
  auto refused = [](const nlohmann::json& j) {
    auto root = parse_trusted_root(j.dump(), "root.json");
    REQUIRE_FALSE(root.has_value());
    CHECK(root.error().kind() == ErrorKind::config);
    return root.error().message();
  };
  SUBCASE("not JSON") {
    auto root = parse_trusted_root("{", "root.json");
    REQUIRE_FALSE(root.has_value());
    CHECK(root.error().message() == "root.json: (document): not JSON");
  }
  SUBCASE("media type") {
    auto j = good;
    j["mediaType"] = "application/json";
    CHECK(refused(j) ==
          "root.json: mediaType: application/json is not application/vnd.dev.sigstore.trustedroot+json;version=0.1");
    j.erase("mediaType");
    CHECK(refused(j) == "root.json: mediaType: missing");
  }
  SUBCASE("certificate authorities") {
    auto j = good;
    j["certificateAuthorities"] = nlohmann::json::object();
    CHECK(refused(j) == "root.json: certificateAuthorities: must be a list");
    j = good;
    j["certificateAuthorities"][1]["certChain"]["certificates"] = nlohmann::json::array();
    CHECK(refused(j) == "root.json: certificateAuthorities[1].certChain.certificates: empty");
    j = good;
    j["certificateAuthorities"][1]["certChain"]["certificates"][0]["rawBytes"] = "not base64!";
    CHECK(refused(j) == "root.json: certificateAuthorities[1].certChain.certificates[0].rawBytes: not base64");
    j = good;
    j["certificateAuthorities"][0]["certChain"]["certificates"][0]["rawBytes"] = base64_encode("not DER");
    CHECK(refused(j) == "root.json: certificateAuthorities[0].certChain.certificates[0].rawBytes: not a DER X.509 certificate");
    j = good;
    j["certificateAuthorities"][0]["validFor"]["start"] = "2021-03-07 03:20:29";
    CHECK(refused(j) == "root.json: certificateAuthorities[0].validFor.start: not an RFC 3339 time: 2021-03-07 03:20:29");
    j = good;
    j["certificateAuthorities"] = nlohmann::json::array();
    CHECK(refused(j) == "root.json: certificateAuthorities: empty: no CA to check a certificate against");
  }
  SUBCASE("transparency logs") {
    auto j = good;
    j["tlogs"][0].erase("hashAlgorithm");
    CHECK(refused(j) == "root.json: tlogs[0].hashAlgorithm: missing");
    j = good;
    j["tlogs"][0]["hashAlgorithm"] = "SHA2_384";
    CHECK(refused(j) == "root.json: tlogs[0].hashAlgorithm: SHA2_384 is not supported (SHA2_256 is)");
    j = good;
    j["tlogs"][0]["logId"].erase("keyId");
    CHECK(refused(j) == "root.json: tlogs[0].logId.keyId: missing");
    j = good;
    j["tlogs"][0]["publicKey"]["rawBytes"] = base64_encode("not a key");
    CHECK(refused(j) == "root.json: tlogs[0].publicKey.rawBytes: not a DER ECDSA P-256 public key");
    j = good;
    j["tlogs"][0]["publicKey"]["validFor"] = "2021";
    CHECK(refused(j) == "root.json: tlogs[0].publicKey.validFor: must be an object");
    j = good;
    j["tlogs"].erase(0);
    CHECK(refused(j) == "root.json: tlogs: no ECDSA P-256 log (PKIX_ECDSA_P256_SHA_256): no log to check an entry against");
  }
  SUBCASE("the file") {
    auto scratch = ScratchDir::create("sbpipe-trusted-root");
    REQUIRE(scratch.has_value());
    auto root = load_trusted_root(scratch->path() / "missing.json");
    REQUIRE_FALSE(root.has_value());
    CHECK(root.error().kind() == ErrorKind::config);
    CHECK(root.error().message().starts_with("trusted root " + (scratch->path() / "missing.json").string() + ": "));
  }
}

TEST_CASE("RFC 3339 times as protobuf JSON writes them") {
  CHECK(parse_rfc3339("1970-01-01T00:00:00Z") == 0);
  CHECK(parse_rfc3339("2021-01-12T11:53:27Z") == 1610452407);
  CHECK(parse_rfc3339("2021-01-12T11:53:27.000Z") == 1610452407);
  CHECK(parse_rfc3339("2021-01-12T13:53:27+02:00") == 1610452407);
  CHECK_FALSE(parse_rfc3339("2021-01-12T11:53:27"));
  CHECK_FALSE(parse_rfc3339("2021-01-12 11:53:27Z"));
  CHECK_FALSE(parse_rfc3339("2021-13-12T11:53:27Z"));
  CHECK_FALSE(parse_rfc3339("2021-01-12T11:53:27Zjunk"));
}

TEST_CASE("RFC 6962 audit paths lead to the root the RFC's MTH gives, for every leaf of trees of 1 to 17 leaves") {
  for (size_t n = 1; n <= 17; ++n) {
    std::vector<std::string> leaves;
    for (size_t i = 0; i < n; ++i) leaves.push_back("leaf " + std::to_string(i));
    std::string root = mth(leaves, 0, n);
    for (size_t m = 0; m < n; ++m) {
      auto audit = path(m, leaves, 0, n);
      auto got = rfc6962_root_from_path(rfc6962_leaf_hash(leaves[m]), static_cast<int64_t>(m), static_cast<int64_t>(n), audit);
      REQUIRE(got.has_value());
      CHECK(*got == root);
      if (!audit.empty()) {
        audit.pop_back();
        CHECK_FALSE(
            rfc6962_root_from_path(rfc6962_leaf_hash(leaves[m]), static_cast<int64_t>(m), static_cast<int64_t>(n), audit));
      }
    }
  }
}

TEST_CASE("numbers out of range in a bundle or a log entry are refused, never thrown") {
  auto bundle = parse_bundle(R"({"mediaType":"application/vnd.dev.sigstore.bundle.v99999999999999999999.3+json"})");
  REQUIRE_FALSE(bundle.has_value());
  CHECK(bundle.error().message() ==
        "sigstore bundle: unknown mediaType application/vnd.dev.sigstore.bundle.v99999999999999999999.3+json");
  auto entry = nlohmann::json::parse(data("bundle_v3_github.whl.sigstore"))["verificationMaterial"]["tlogEntries"][0];
  REQUIRE(parse_tlog_entry(entry).has_value());
  entry["logIndex"] = "99999999999999999999";
  auto refused = parse_tlog_entry(entry);
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().message() == "transparency-log entry: no logIndex");
  auto annotation = parse_cosign_rekor_bundle(R"({"SignedEntryTimestamp":"AA==","Payload":{"body":"AA==","integratedTime":-1}})");
  REQUIRE_FALSE(annotation.has_value());
  CHECK(annotation.error().message() ==
        "transparency-log entry: the dev.sigstore.cosign/bundle annotation needs SignedEntryTimestamp and "
        "Payload.{body, integratedTime, logIndex, logID}");
}

TEST_CASE("a production keyless bundle verifies offline against the production trusted root") {
  auto root = parse_trusted_root(data("public-good-trusted_root.json"), "public-good-trusted_root.json");
  REQUIRE(root.has_value());
  std::string artifact = data("bundle_v3_github.whl");
  FoundSignatures found;
  found.source = SignatureSource::referrers;
  found.bundles.push_back(parse_bundle(data("bundle_v3_github.whl.sigstore")));
  REQUIRE_MESSAGE(found.bundles[0].has_value(), found.bundles[0].error().message());
  auto digest = *Digest::parse("sha256:" + Sha256::hex_of(artifact));
  SUBCASE("the signer's identity") {
    auto ok = check_signatures_keyless(found, digest, KeylessIdentity{k_github_issuer, k_release_workflow, ""}, *root);
    REQUIRE_MESSAGE(ok.has_value(), ok.error().message());
    CHECK(*ok == "a keyless sigstore bundle in OCI referrers");
    CHECK(check_signatures_keyless(found, digest, KeylessIdentity{k_github_issuer, "", "^https://github\\.com/trailofbits/"},
                                   *root));
  }
  SUBCASE("another identity") {
    auto refused = check_signatures_keyless(found, digest, KeylessIdentity{k_github_issuer, "", "@siderolabs\\.com$"}, *root);
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().message() == std::string("the certificate's subject [") + k_release_workflow +
                                           "] does not match subjectRegex @siderolabs\\.com$ (Talos stops at OCI referrers)");
    refused =
        check_signatures_keyless(found, digest, KeylessIdentity{"https://accounts.google.com", k_release_workflow, ""}, *root);
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().message() == std::string("the certificate's OIDC issuer is ") + k_github_issuer +
                                           ", the rule wants https://accounts.google.com (Talos stops at OCI referrers)");
  }
  SUBCASE("another artifact") {
    artifact[100] ^= 1;
    auto other = *Digest::parse("sha256:" + Sha256::hex_of(artifact));
    auto refused = check_signatures_keyless(found, other, KeylessIdentity{k_github_issuer, k_release_workflow, ""}, *root);
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().message().starts_with("sigstore bundle: it signs sha256:" + digest.hex + ", not sha256:" + other.hex));
  }
  SUBCASE("a trusted root without its log") {
    auto j = nlohmann::json::parse(data("public-good-trusted_root.json"));
    j["tlogs"][0]["logId"]["keyId"] = base64_encode(std::string(32, 'x'));
    auto other_root = parse_trusted_root(j.dump(), "root.json");
    REQUIRE(other_root.has_value());
    auto refused = check_signatures_keyless(found, digest, KeylessIdentity{k_github_issuer, k_release_workflow, ""}, *other_root);
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().message().starts_with("no transparency-log entry verifies: its log c0d23d6ad406973f"));
  }
  SUBCASE("a trusted root without the CT log of the certificate's SCT") {
    auto j = nlohmann::json::parse(data("public-good-trusted_root.json"));
    j["ctlogs"] = nlohmann::json::array();
    auto other_root = parse_trusted_root(j.dump(), "root.json");
    REQUIRE(other_root.has_value());
    auto refused = check_signatures_keyless(found, digest, KeylessIdentity{k_github_issuer, k_release_workflow, ""}, *other_root);
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().message() ==
          "no signed certificate timestamp verifies: no SCT is from a CT log of the trusted root "
          "(Talos stops at OCI referrers)");
  }
  SUBCASE("a trusted root whose CAs are not valid at the integrated time") {
    auto j = nlohmann::json::parse(data("public-good-trusted_root.json"));
    for (auto& ca : j["certificateAuthorities"]) ca["validFor"] = {{"start", "2025-01-01T00:00:00Z"}};
    auto other_root = parse_trusted_root(j.dump(), "root.json");
    REQUIRE(other_root.has_value());
    auto refused = check_signatures_keyless(found, digest, KeylessIdentity{k_github_issuer, k_release_workflow, ""}, *other_root);
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().message().starts_with("no certificate authority of the trusted root is valid at 2024-03-19T22:4"));
  }
}

}  // TEST_SUITE("unit")

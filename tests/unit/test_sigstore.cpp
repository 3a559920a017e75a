// src/sigstore: keys (made by the openssl command line, not by the code
// under test), DSSE, bundles, cosign's payload, the rules with Talos's
// field names and go-glob matching, and the ImageVerificationConfig text.
// The formats are judged against outside tools in tests/signatures/.

#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>

#include "core/file.h"
#include "core/sha256.h"
#include "core/temp_dir.h"
#include "release/finalize.h"
#include "release/image_verification.h"
#include "release/publish.h"
#include "release/release_signatures.h"
#include "sigstore/bundle.h"
#include "sigstore/dsse.h"
#include "sigstore/image_rules.h"
#include "sigstore/intoto.h"
#include "sigstore/keys.h"
#include "sigstore/simple_signing.h"
#include "support/fake_target.h"

using namespace sbpipe;
namespace fs = std::filesystem;

namespace {

// Keys made once by the openssl command line.
struct Keys {
  ScratchDir dir = std::move(*ScratchDir::create("sbpipe-sigstore-keys"));
  fs::path ec, ec_pub, pkcs8, rsa, rsa_small, p384, encrypted;
  Keys() {
    auto sh = [](const std::string& cmd) { REQUIRE(std::system((cmd + " 2>/dev/null").c_str()) == 0); };
    ec = dir.path() / "ec.pem";
    ec_pub = dir.path() / "ec.pub";
    pkcs8 = dir.path() / "pkcs8.pem";
    rsa = dir.path() / "rsa.pem";
    rsa_small = dir.path() / "rsa1024.pem";
    p384 = dir.path() / "p384.pem";
    encrypted = dir.path() / "enc.pem";
    sh("openssl ecparam -name prime256v1 -genkey -noout -out " + ec.string());
    sh("openssl ec -in " + ec.string() + " -pubout -out " + ec_pub.string());
    sh("openssl pkcs8 -topk8 -nocrypt -in " + ec.string() + " -out " + pkcs8.string());
    sh("openssl genrsa -traditional -out " + rsa.string() + " 2048");
    sh("openssl genrsa -out " + rsa_small.string() + " 1024");
    sh("openssl ecparam -name secp384r1 -genkey -noout -out " + p384.string());
    sh("openssl pkcs8 -topk8 -v2 aes-256-cbc -passout pass:x -in " + ec.string() + " -out " + encrypted.string());
  }
};

const Keys& keys() {
  static Keys k;
  return k;
}

std::string sha256_raw(std::string_view data) { return *from_hex(Sha256::hex_of(data)); }

}  // namespace

TEST_SUITE("unit") {

TEST_CASE("SigningKey: EC P-256 (SEC 1 and PKCS#8) and RSA load; the public half matches openssl's") {
  for (const auto& path : {keys().ec, keys().pkcs8}) {
    auto key = SigningKey::load(path, "--sign-key");
    REQUIRE_MESSAGE(key, key.error().message());
    CHECK(key->public_key().description() == "ECDSA P-256");
    auto pub = PublicKey::load(keys().ec_pub, "pub");
    REQUIRE(pub);
    CHECK(key->public_key().fingerprint() == pub->fingerprint());
    CHECK(key->public_key().pem() == *read_small_file(keys().ec_pub));
  }
  auto rsa = SigningKey::load(keys().rsa, "--sign-key");
  REQUIRE(rsa);
  CHECK(rsa->public_key().description() == "RSA-2048");
}

TEST_CASE("SigningKey: refusals name the setting and the file, never the key") {
  auto why = [](const fs::path& p) { return SigningKey::load(p, "--sign-key").error().message(); };
  CHECK(why(keys().rsa_small) ==
        "--sign-key " + keys().rsa_small.string() + ": an RSA key of 1024 bits; at least 2048 are needed");
  CHECK(why(keys().p384) == "--sign-key " + keys().p384.string() +
                                ": an EC key on curve secp384r1; sbpipe signs with P-256 (cosign's default) or RSA");
  CHECK(why(keys().encrypted).find(": the key is encrypted with a passphrase, which sbpipe never asks for") != std::string::npos);
  CHECK(why(keys().ec_pub) == "--sign-key " + keys().ec_pub.string() +
                                  ": a PEM PUBLIC KEY; expected a private key (EC PRIVATE KEY, RSA PRIVATE KEY or PRIVATE KEY)");
  auto cosign = SigningKey::parse_pem(
      "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\neyJrZGYiOnt9fQ==\n"
      "-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n",
      "run.sign_key k");
  REQUIRE(!cosign);
  CHECK(cosign.error().message().starts_with("run.sign_key k: cosign's encrypted key format, which sbpipe does not read"));
  CHECK(SigningKey::load(keys().dir.path() / "none", "--sign-key").error().kind() == ErrorKind::config);
  CHECK(PublicKey::parse_pem(*read_small_file(keys().ec), "x").error().message() ==
        "x: holds a private key; give the public key only");
}

TEST_CASE("signatures verify with the public key only, over the exact bytes") {
  for (const auto& path : {keys().ec, keys().rsa}) {
    auto key = SigningKey::load(path, "k");
    REQUIRE(key);
    auto sig = key->sign("payload");
    REQUIRE(sig);
    CHECK(key->public_key().verify("payload", *sig));
    CHECK(!key->public_key().verify("payloaD", *sig));
    auto by_digest = key->sign_digest(sha256_raw("payload"));
    REQUIRE(by_digest);
    CHECK(key->public_key().verify("payload", *by_digest));
    CHECK(key->public_key().verify_digest(sha256_raw("payload"), *sig));
  }
  auto other = SigningKey::load(keys().rsa, "k");
  auto sig = SigningKey::load(keys().ec, "k")->sign("payload");
  CHECK(!other->public_key().verify("payload", *sig));
}

TEST_CASE("DSSE: PAE as the spec's example; envelope JSON round trip") {
  // secure-systems-lab/dsse protocol.md
  CHECK(dsse_pae("http://example.com/HelloWorld", "hello world") == "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
  DsseEnvelope e{k_intoto_payload_type, "{}", {DsseSignature{"", "sig"}}};
  auto back = parse_dsse(dsse_json(e));
  REQUIRE(back);
  CHECK(back->payload == "{}");
  CHECK(back->signatures[0].sig == "sig");
  CHECK(parse_dsse(nlohmann::json{{"payload", "!"}, {"payloadType", "x"}, {"signatures", nlohmann::json::array()}})
            .error()
            .message() == "DSSE envelope: payload is not base64");
}

TEST_CASE("bundles: a blob bundle and an image bundle verify with the key and name their digest") {
  auto key = SigningKey::load(keys().ec, "k");
  REQUIRE(key);
  std::string digest = sha256_raw("artifact");
  auto blob = sign_artifact_digest(*key, digest);
  REQUIRE(blob);
  auto parsed = parse_bundle(bundle_json(*blob));
  REQUIRE_MESSAGE(parsed, parsed.error().message());
  CHECK(parsed->media_type == k_bundle_v03_media_type);
  CHECK(*parsed->public_key_hint == key->public_key().hint());
  CHECK(verify_bundle_with_key(*parsed, key->public_key(), digest));
  CHECK(verify_bundle_with_key(*parsed, key->public_key(), sha256_raw("other")).error().message() ==
        "sigstore bundle: it signs sha256:" + Sha256::hex_of("artifact") + ", not sha256:" + Sha256::hex_of("other"));

  std::string statement =
      statement_json({StatementSubject{"", to_hex(digest)}}, k_cosign_sign_predicate, nlohmann::json::object());
  auto image = sign_dsse(*key, k_intoto_payload_type, statement);
  REQUIRE(image);
  auto image_back = parse_bundle(bundle_json(*image));
  REQUIRE(image_back);
  CHECK(verify_bundle_with_key(*image_back, key->public_key(), digest));
  CHECK(verify_bundle_with_key(*image_back, key->public_key(), sha256_raw("other"))
            .error()
            .message()
            .ends_with("the statement's subjects do not include sha256:" + Sha256::hex_of("other")));
  auto other = SigningKey::load(keys().rsa, "k");
  CHECK(!verify_bundle_with_key(*image_back, other->public_key(), digest));
  image_back->dsse->payload += " ";
  CHECK(verify_bundle_with_key(*image_back, key->public_key(), digest)
            .error()
            .message()
            .starts_with("sigstore bundle: the DSSE signature does not verify"));
}

TEST_CASE("bundles: what parse_bundle refuses") {
  auto why = [](const std::string& text) { return parse_bundle(text).error().message(); };
  CHECK(why("[]") == "sigstore bundle: not a JSON object");
  CHECK(why(R"({"mediaType":"application/vnd.dev.sigstore.bundle.v0.4+json"})") ==
        "sigstore bundle: version 0.4 is not supported");
  CHECK(why(R"({"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{}})") ==
        "sigstore bundle: verificationMaterial names no key or certificate");
  CHECK(why(R"({"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{}}})") ==
        "sigstore bundle: no messageSignature or dsseEnvelope");
}

TEST_CASE("cosign's simple-signing payload: cosign's bytes, the tags") {
  std::string json = simple_signing_json({"ghcr.io/o/installer", "sha256:" + std::string(64, 'a')});
  CHECK(json ==
        R"({"critical":{"identity":{"docker-reference":"ghcr.io/o/installer"},"image":{"docker-manifest-digest":"sha256:)" +
            std::string(64, 'a') + R"("},"type":"cosign container image signature"},"optional":null})");
  auto back = parse_simple_signing(json);
  REQUIRE(back);
  CHECK(back->docker_reference == "ghcr.io/o/installer");
  CHECK(parse_simple_signing(R"({"critical":{"type":"x"}})").error().message() ==
        "simple-signing payload: type is not \"cosign container image signature\"");
  CHECK(signature_tag("sha256:abc") == "sha256-abc.sig");
  CHECK(referrers_tag("sha256:abc") == "sha256-abc");
}

TEST_CASE("glob_match: ryanuber/go-glob's semantics, as Talos matches rules") {
  CHECK(glob_match("*", "anything/at/all"));
  CHECK(glob_match("ghcr.io/siderolabs/*", "ghcr.io/siderolabs/imager"));
  CHECK(glob_match("ghcr.io/siderolabs/*", "ghcr.io/siderolabs/a/b"));  // '*' crosses '/'
  CHECK(!glob_match("ghcr.io/siderolabs/*", "ghcr.io/siderolabsx/imager"));
  CHECK(glob_match("ghcr.io/*/installer", "ghcr.io/owner/installer"));
  CHECK(!glob_match("ghcr.io/*/installer", "ghcr.io/owner/installer-base"));
  CHECK(glob_match("*/installer*", "ghcr.io/owner/installer-base"));
  CHECK(glob_match("ghcr.io/owner/installer", "ghcr.io/owner/installer"));
  CHECK(!glob_match("ghcr.io/owner/installer", "ghcr.io/owner/installer2"));
  CHECK(!glob_match("", "x"));
  CHECK(rule_subject("docker.io", "nginx") == "index.docker.io/library/nginx");
  CHECK(rule_subject("127.0.0.1:5000", "o/i") == "127.0.0.1:5000/o/i");
}

TEST_CASE("image_verification rules: Talos's field names, its Validate(), first match wins") {
  std::string pem = *read_small_file(keys().ec_pub);
  std::string indented;
  for (size_t at = 0; at < pem.size();) {
    size_t nl = pem.find('\n', at);
    indented += "        " + pem.substr(at, nl - at) + "\n";
    at = nl + 1;
  }
  auto rules = parse_image_verification(
      "trusted_root: /tr.json\nrules:\n"
      "  - image: ghcr.io/owner/*\n    publicKey:\n      certificate: |\n" +
          indented +
          "  - image: ghcr.io/siderolabs/*\n    keyless:\n      issuer: https://accounts.google.com\n"
          "      subjectRegex: '@siderolabs\\.com$'\n"
          "  - image: '*'\n    deny: true\n",
      "imager.image_verification", "f.yaml");
  REQUIRE_MESSAGE(rules, rules.error().message());
  REQUIRE(rules->rules.size() == 3);
  CHECK(first_matching_rule(*rules, "ghcr.io/owner/imager")->index == 0);
  CHECK(first_matching_rule(*rules, "ghcr.io/siderolabs/imager")->keyless->issuer == "https://accounts.google.com");
  CHECK(first_matching_rule(*rules, "docker.io/library/x")->deny);
  CHECK(first_matching_rule(*rules, "docker.io/library/x")->label() == "rule 2 (*)");

  auto why = [](const std::string& yaml) {
    auto r = parse_image_verification(yaml, "imager.image_verification", "f.yaml");
    return r ? std::string("accepted") : r.error().message();
  };
  const std::string p = "f.yaml: imager.image_verification.rules[0]: ";
  CHECK(why("rules:\n  - skip: true\n") == p + "image must be specified");
  CHECK(why("rules:\n  - image: a/b\n    skip: true\n    deny: true\n") == p + "skip and deny cannot both be true");
  CHECK(why("rules:\n  - image: a/b\n    skip: true\n    publicKey: {certificate: x}\n") ==
        p + "verifiers cannot be configured if skip or deny is true");
  CHECK(why("rules:\n  - image: a/b\n") == p + "at least one verifier (keyless or publicKey), skip or deny is needed");
  CHECK(why("trusted_root: t\nrules:\n  - image: a/b\n    keyless: {subject: s}\n") == p + "keyless.issuer must be specified");
  CHECK(why("trusted_root: t\nrules:\n  - image: a/b\n    keyless: {issuer: i}\n") ==
        p + "keyless.subject or keyless.subjectRegex must be specified");
  CHECK(why("rules:\n  - image: a/b\n    keyless: {issuer: i, subject: s}\n") ==
        "f.yaml: imager.image_verification.rules[0]: a keyless rule needs imager.image_verification.trusted_root (a Sigstore "
        "trusted_root.json; sbpipe does not reach the network for it)");
  CHECK(why("rules:\n  - image: a/b:v1\n    skip: true\n") ==
        p + "image 'a/b:v1' names a tag or digest; rules match only the registry and repository");
  CHECK(why("rules:\n  - image: a/b\n    publicKey: {certificate: nope}\n") ==
        "f.yaml: imager.image_verification.rules[0].publicKey.certificate: no PEM public key or certificate");
  CHECK(why("rules:\n  - image: a/b\n    skip: true\n    skipp: true\n") ==
        "f.yaml: unknown key imager.image_verification.rules[0].skipp");
  CHECK(why("rules:\n  - image: localhost:5000/x\n    skip: true\n") == "accepted");
}

TEST_CASE("the ImageVerificationConfig document for the installer repository") {
  std::string pem = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
  CHECK(image_verification_config("ghcr.io/o/installer", pem) ==
        "apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n  - image: ghcr.io/o/installer\n    publicKey:\n"
        "      certificate: |\n        -----BEGIN PUBLIC KEY-----\n        AAAA\n        -----END PUBLIC KEY-----\n");
  CHECK(image_verification_config("docker.io/o/installer", pem).find("  - image: index.docker.io/o/installer\n") !=
        std::string::npos);
  CHECK(image_verification_notes("ghcr.io/o/installer", "", "ab").empty());
}

}  // TEST_SUITE("unit")

// Publishing and finalizing with the owner's key, on the in-memory target.

namespace {

LocalAsset memory_file(const std::string& name, const std::string& content) { return memory_asset(name, content); }

}  // namespace

TEST_SUITE("unit") {

TEST_CASE("publish with a key: a bundle per file and per checksum file, listed but for the checksum files' own") {
  using sbpipe::test::FakeTarget;
  auto key = SigningKey::load(keys().ec, "k");
  REQUIRE(key);
  FakeTarget t;
  std::vector<LocalAsset> files{memory_file("a.iso", "AAAA")};
  PublishRequest request{ReleasePin{"v1", std::nullopt}, AllowPublished::no, &*key};
  REQUIRE(publish_release(t, files, request));
  for (const char* name : {"a.iso.sigstore.json", "sha256sum.txt.sigstore.json", "sha512sum.txt.sigstore.json"})
    REQUIRE_MESSAGE(t.files.count(name), name);
  CHECK(t.content("sha256sum.txt") ==
        Sha256::hex_of("AAAA") + "  a.iso\n" + Sha256::hex_of(t.content("a.iso.sigstore.json")) + "  a.iso.sigstore.json\n");
  auto bundle = parse_bundle(t.content("a.iso.sigstore.json"));
  REQUIRE(bundle);
  CHECK(verify_bundle_with_key(*bundle, key->public_key(), sha256_raw("AAAA")));
  auto sums = parse_bundle(t.content("sha256sum.txt.sigstore.json"));
  CHECK(verify_bundle_with_key(*sums, key->public_key(), sha256_raw(t.content("sha256sum.txt"))));
  // The order: the file, its bundle, sha512sum.txt's bundle and file, sha256sum.txt's bundle and file.
  std::vector<std::string> puts;
  for (const auto& c : t.calls)
    if (c.starts_with("put ")) puts.push_back(c.substr(4));
  CHECK(puts == std::vector<std::string>{"a.iso", "a.iso.sigstore.json", "sha512sum.txt.sigstore.json", "sha512sum.txt",
                                         "sha256sum.txt.sigstore.json", "sha256sum.txt"});

  // A re-run keeps every bundle (ECDSA signatures differ each time: a new one would replace it).
  std::string before = t.content("a.iso.sigstore.json");
  std::vector<LocalAsset> again{memory_file("a.iso", "AAAA")};
  auto reports = publish_release(t, again, request);
  REQUIRE(reports);
  for (const auto& r : *reports) CHECK_MESSAGE(r.outcome == AssetOutcome::unchanged, r.name);
  CHECK(t.content("a.iso.sigstore.json") == before);

  // finalize: with the key, every bundle must verify; a missing or foreign one is refused.
  FinalizeRequest finalize{ReleasePin{"v1", std::nullopt}, MakeLatest::yes, ReleaseFacts{}, {}, &key->public_key()};
  auto other = SigningKey::load(keys().rsa, "k");
  FinalizeRequest foreign = finalize;
  foreign.signing_key = &other->public_key();
  auto refused = finalize_release(t, foreign);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message().find("a.iso.sigstore.json: sigstore bundle: the signature does not verify with the key") !=
        std::string::npos);
  FakeTarget missing = t;
  missing.files.erase("sha512sum.txt.sigstore.json");
  CHECK(finalize_release(missing, finalize)
            .error()
            .message()
            .find("sha512sum.txt has no signature (sha512sum.txt.sigstore.json is missing)") != std::string::npos);
  auto done = finalize_release(t, finalize);
  CHECK_MESSAGE(done, done.error().message());
}

}  // TEST_SUITE("unit")

// sbpipe keys check on key sets made with OpenSSL and efitools, and
// sbpipe plan, with --pin-digests against a real docker-registry.

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <sstream>

#include "integration/machine_output.h"
#include "integration/push_helpers.h"
#include "secureboot/keys.h"
#include "support/registry_server.h"
#include "support/secureboot_fixtures.h"

namespace sbpipe::test {
namespace {

// A key set as talosctl gen secureboot makes it (UKI key 4096 bits takes a
// while to generate: made once).
struct KeySet {
  TempDir dir;
  KeySet() {
    auto uki = make_key_pair(dir.path(), "uki", "Test UKI Signing", 4096, 3650);
    fs::rename(uki.key, dir / "uki-signing-key.pem");
    fs::rename(uki.cert, dir / "uki-signing-cert.pem");
    must_run({"openssl", "genrsa", "-traditional", "-out", (dir / "pcr-signing-key.pem").string(), "2048"});
    fs::permissions(dir / "uki-signing-key.pem", fs::perms::owner_read);
    fs::permissions(dir / "pcr-signing-key.pem", fs::perms::owner_read);
  }
};

KeySet& good_keys() {
  static KeySet s;
  return s;
}

// A copy of the good set to damage.
fs::path copy_of_good(const TempDir& into) {
  for (const auto& e : fs::directory_iterator(good_keys().dir.path()))
    fs::copy_file(e.path(), into / e.path().filename().string(), fs::copy_options::overwrite_existing);
  return into.path();
}

RunResult keys_check(const fs::path& dir, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"keys", "check", dir.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  return sbpipe(args);
}

// No line of any private key's base64 body may appear in `text`.
void check_no_key_material(const fs::path& dir, const std::string& text) {
  for (const char* name : {"uki-signing-key.pem", "pcr-signing-key.pem"}) {
    if (!fs::exists(dir / name)) continue;
    std::istringstream lines(read_file(dir / name));
    std::string line;
    while (std::getline(lines, line))
      if (line.size() > 20 && line.find("-----") == std::string::npos) CHECK(text.find(line) == std::string::npos);
  }
}

}  // namespace

TEST_SUITE("integration") {

TEST_CASE("keys check: a talosctl-like key set passes and prints no key material") {
  auto& keys = good_keys();
  auto r = keys_check(keys.dir.path());
  CHECK_MESSAGE(r.exit_code == 0, (r.out + r.err));
  CHECK(r.out.find("PKCS#1 RSA") != std::string::npos);
  CHECK(r.out.find("4096 bits") != std::string::npos);
  CHECK(r.out.find("matches certificate") != std::string::npos);
  CHECK(r.out.find("FAIL") == std::string::npos);
  check_no_key_material(keys.dir.path(), r.out + r.err);

  auto j = keys_check(keys.dir.path(), {"--format", "json"});
  REQUIRE(j.exit_code == 0);
  check_machine_output("keys check", j.out);
  auto doc = nlohmann::json::parse(j.out);
  CHECK(doc["ok"] == true);
  CHECK(doc["checks"].size() > 6);
}

TEST_CASE("keys check --write-public: the PCR key's public half, for verify steps that see no private key") {
  TempDir out;
  auto r = keys_check(good_keys().dir.path(), {"--write-public", out.path().string()});
  CHECK_MESSAGE(r.exit_code == 0, r.out << r.err);
  CHECK(r.out.find("pcr-signing-key.pub.pem  written") != std::string::npos);
  auto want = must_run({"openssl", "rsa", "-in", (good_keys().dir / "pcr-signing-key.pem").string(), "-pubout"});
  CHECK(read_file(out / "pcr-signing-key.pub.pem") == want);
  check_no_key_material(good_keys().dir.path(), read_file(out / "pcr-signing-key.pub.pem"));
}

TEST_CASE("keys check: each broken key set fails with the reason") {
  TempDir tmp;
  fs::path dir = copy_of_good(tmp);
  fs::path uki_key = dir / "uki-signing-key.pem";
  fs::permissions(uki_key, fs::perms::owner_read | fs::perms::owner_write);

  SUBCASE("PKCS#8 key: says how to convert") {
    must_run({"openssl", "pkcs8", "-topk8", "-nocrypt", "-in", uki_key.string(), "-out", (dir / "k8.pem").string()});
    fs::rename(dir / "k8.pem", uki_key);
    auto r = keys_check(dir);
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("PKCS#8") != std::string::npos);
    CHECK(r.out.find("openssl rsa -in uki-signing-key.pem -traditional") != std::string::npos);
    check_no_key_material(dir, r.out + r.err);
  }
  SUBCASE("ECDSA key") {
    must_run({"openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", uki_key.string()});
    auto r = keys_check(dir);
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("ECDSA key; imager signs with RSA only") != std::string::npos);
  }
  SUBCASE("key that does not belong to the certificate") {
    must_run({"openssl", "genrsa", "-traditional", "-out", uki_key.string(), "4096"});
    auto r = keys_check(dir);
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("the key does not belong to uki-signing-cert.pem") != std::string::npos);
  }
  SUBCASE("missing PCR key") {
    fs::remove(dir / "pcr-signing-key.pem");
    auto r = keys_check(dir);
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("pcr-signing-key.pem") != std::string::npos);
    CHECK(r.out.find("missing") != std::string::npos);
  }
  SUBCASE("a PCR key that is not RSA-2048: nodes load it into their TPM") {
    must_run({"openssl", "genrsa", "-traditional", "-out", (dir / "pcr-signing-key.pem").string(), "3072"});
    auto r = keys_check(dir);
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("size                 FAIL    3072 bits; a PCR key must be RSA-2048: nodes load it into the "
                     "TPM at every unseal, and many TPMs take only RSA-2048 there") != std::string::npos);
  }
  SUBCASE("encrypted key: fails without prompting") {
    must_run(
        {"openssl", "rsa", "-in", uki_key.string(), "-aes256", "-passout", "pass:secret", "-out", (dir / "enc.pem").string()});
    fs::rename(dir / "enc.pem", uki_key);
    auto r = keys_check(dir);
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("encrypted") != std::string::npos);
  }
}

TEST_CASE("keys check: 2048-bit UKI key and a certificate near expiry warn; an expired one fails") {
  TempDir dir;
  auto uki = make_key_pair(dir.path(), "uki", "Short Lived", 2048, 30);
  fs::rename(uki.key, dir / "uki-signing-key.pem");
  fs::rename(uki.cert, dir / "uki-signing-cert.pem");
  must_run({"openssl", "genrsa", "-traditional", "-out", (dir / "pcr-signing-key.pem").string(), "2048"});
  fs::permissions(dir / "uki-signing-key.pem", fs::perms::owner_read);
  fs::permissions(dir / "pcr-signing-key.pem", fs::perms::owner_read);
  auto r = keys_check(dir.path(), {"--warn-days", "60"});
  CHECK_MESSAGE(r.exit_code == 0, r.out);
  CHECK(r.out.find("2048 bits; 4096 recommended") != std::string::npos);
  CHECK(r.out.find("expires in 29 days") != std::string::npos);

  // The same real certificate, seen a year later (the clock is the seam).
  auto rows = check_key_set(dir.path(), KeysCheckOptions{60, std::chrono::system_clock::now() + std::chrono::hours(24 * 365)});
  bool expired = false;
  for (const auto& row : rows)
    if (row.check == "validity" && row.level == CheckLevel::fail && row.detail.starts_with("expired")) expired = true;
  CHECK(expired);
}

TEST_CASE("keys check: enrolment files from efitools must hold the UKI certificate in db") {
  TempDir tmp;
  fs::path dir = copy_of_good(tmp);
  SUBCASE("db holds the UKI cert") {
    write_enrolment(dir, {dir / "uki-signing-cert.pem"});
    auto r = keys_check(dir);
    CHECK_MESSAGE(r.exit_code == 0, r.out);
    CHECK(r.out.find("holds UKI cert") != std::string::npos);
    CHECK(r.out.find("1 certificate(s)") != std::string::npos);
  }
  SUBCASE("db without the UKI cert") {
    TempDir other;
    auto stranger = make_key_pair(other.path(), "stranger", "Stranger");
    write_enrolment(dir, {stranger.cert});
    auto r = keys_check(dir);
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("nodes enrolled from these files will refuse") != std::string::npos);
  }
  SUBCASE("a partial set fails, naming the missing files (imager 1.14 refuses it; 1.13 ships an ISO without them)") {
    write_enrolment(dir, {dir / "uki-signing-cert.pem"});
    fs::remove(dir / "KEK.auth");
    fs::remove(dir / "db.auth");
    auto r = keys_check(dir);
    CHECK(r.exit_code == 1);
    CHECK_MESSAGE(r.out.find("missing KEK.auth, db.auth; the enrolment files go together") != std::string::npos, r.out);
    CHECK(r.out.find("PK.auth") != std::string::npos);  // the one present is still read
  }
  SUBCASE("truncated db.auth") {
    write_enrolment(dir, {dir / "uki-signing-cert.pem"});
    std::string db = read_file(dir / "db.auth");
    write_file(dir / "db.auth", db.substr(0, db.size() - 100));
    auto r = keys_check(dir);
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("db.auth") != std::string::npos);
    CHECK(r.out.find("runs past the end") != std::string::npos);
  }
}

TEST_CASE("plan: defaults, shell form, and refusals") {
  auto r = sbpipe({"plan", "--tag", "v1.9.0"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  auto doc = nlohmann::json::parse(r.out);
  REQUIRE(doc["invocations"].size() == 7);  // 3 outputs, and kernel, initramfs, cmdline and the signed UKI for network boot
  CHECK(doc["invocations"][0]["name"] == "secureboot-installer-amd64");
  CHECK(doc["invocations"][6]["name"] == "pxe-uki-amd64");
  CHECK(doc["invocations"][6]["args"][0] == "secureboot-iso");  // 1.9: the SecureBoot ISO profile's UKI output
  CHECK(doc["invocations"][0]["image"] == "ghcr.io/siderolabs/imager:v1.9.0");
  CHECK(doc["invocations"][0]["output_file"] == "installer-amd64-secureboot.tar");
  auto args = doc["invocations"][0]["args"].dump();
  CHECK(args.find(R"("--extra-kernel-arg","-lockdown","--extra-kernel-arg","lockdown=integrity")") != std::string::npos);
  CHECK(doc["invocations"][2]["args"].dump().find("lockdown") == std::string::npos);  // plain ISO

  auto shell = sbpipe({"plan", "--tag", "v1.9.0", "--format", "shell"});
  REQUIRE(shell.exit_code == 0);
  CHECK(shell.out.find(
            "docker run --rm -t -v \"$PWD/_out:/out\" -v \"$PWD/secureboot:/secureboot:ro\" ghcr.io/siderolabs/imager:v1.9.0 "
            "secureboot-installer") != std::string::npos);

  TempDir tmp;
  write_file(tmp / "bad.yaml", "imager:\n  outputs: [installer]\n  extra_kernel_args: [console=ttyS0]\n");
  auto refused = sbpipe({"plan", "--tag", "v1.9.0", "--config", (tmp / "bad.yaml").string()});
  CHECK(refused.exit_code == 2);
  CHECK(refused.err.find("imager refuses kernel args") != std::string::npos);
  write_file(tmp / "typo.yaml", "imager:\n  output: [iso]\n");
  auto typo = sbpipe({"plan", "--tag", "v1.9.0", "--config", (tmp / "typo.yaml").string()});
  CHECK(typo.exit_code == 2);
  CHECK(typo.err.find("unknown key imager.output") != std::string::npos);
  auto arch = sbpipe({"plan", "--tag", "v1.9.0", "--arch", "riscv64"});
  CHECK(arch.exit_code == 2);
  CHECK(arch.err.find("unknown architecture 'riscv64'") != std::string::npos);
}

// An image_verification section whose one rule checks `glob` with the PEM public key in `pub`.
std::string key_rule(const std::string& glob, const fs::path& pub) {
  std::string pem = read_file(pub), out = "  image_verification:\n    rules:\n      - image: " + glob +
                                          "\n        publicKey:\n          certificate: |\n";
  for (size_t at = 0; at < pem.size();) {
    size_t nl = pem.find('\n', at);
    out += "            " + pem.substr(at, nl - at) + "\n";
    at = nl + 1;
  }
  return out;
}

TEST_CASE("plan --pin-digests resolves tags through a real registry and fails on a missing one") {
  LocalRegistry registry;
  TempDir tmp;
  auto layers = installer_layers("amd64", true, 11);
  write_tar(tmp / "ext.tar", docker_save_members(layers, config_json("amd64", layers)));
  for (const char* repo : {"siderolabs/imager:v1.9.0", "ext/gvisor:1.0"}) {
    auto pushed = push({(tmp / "ext.tar").string()}, registry.host() + "/" + repo, {"--digest-file", (tmp / "digest").string()});
    REQUIRE_MESSAGE(pushed.exit_code == 0, pushed.err);
  }
  std::string digest = read_file(tmp / "digest");
  digest.erase(digest.find_last_not_of('\n') + 1);

  write_file(tmp / "sbpipe.yaml", "imager:\n  image: " + registry.host() +
                                      "/siderolabs/imager:{version}\n  system_extensions:\n    - " + registry.host() +
                                      "/ext/gvisor:1.0\n  image_verification:\n    rules:\n      - image: " + registry.host() +
                                      "/siderolabs/*\n        skip: true\n");
  auto r = sbpipe({"plan", "--tag", "v1.9.0", "--config", (tmp / "sbpipe.yaml").string(), "--pin-digests", "--plain-http"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["invocations"][0]["image"].get<std::string>().find("@sha256:") != std::string::npos);
  CHECK(doc["invocations"][0]["args"].dump().find(registry.host() + "/ext/gvisor:1.0@" + digest) != std::string::npos);

  write_file(tmp / "missing.yaml", "imager:\n  image: " + registry.host() +
                                       "/siderolabs/imager:{version}\n  system_extensions:\n    - " + registry.host() +
                                       "/ext/gvisor:9.9\n");
  auto missing =
      sbpipe({"plan", "--tag", "v1.9.0", "--config", (tmp / "missing.yaml").string(), "--pin-digests", "--plain-http"});
  CHECK(missing.exit_code == 1);
  CHECK(missing.err.find("ext/gvisor:9.9: cannot pin to a digest") != std::string::npos);
  CHECK(missing.out.empty());
}

TEST_CASE("plan --pin-digests checks the inputs' signatures before anything runs them") {
  LocalRegistry registry;
  TempDir tmp;
  for (const char* name : {"owner", "other"}) {
    std::string key = (tmp / (std::string(name) + ".pem")).string();
    REQUIRE(std::system(("openssl ecparam -name prime256v1 -genkey -noout -out " + key + " && openssl ec -in " + key +
                         " -pubout -out " + (tmp / (std::string(name) + ".pub")).string() + " 2>/dev/null")
                            .c_str()) == 0);
  }
  auto layers = installer_layers("amd64", true, 12);
  write_tar(tmp / "img.tar", docker_save_members(layers, config_json("amd64", layers)));
  const std::string signed_imager = registry.host() + "/owner/imager";
  auto pushed = push({(tmp / "img.tar").string()}, signed_imager + ":v1.9.0", {"--sign-key", (tmp / "owner.pem").string()});
  REQUIRE_MESSAGE(pushed.exit_code == 0, pushed.err);
  pushed = push({(tmp / "img.tar").string()}, registry.host() + "/unsigned/imager:v1.9.0");
  REQUIRE_MESSAGE(pushed.exit_code == 0, pushed.err);
  auto plan = [&](const std::string& image, const std::string& rules) {
    write_file(tmp / "sbpipe.yaml", "imager:\n  image: " + image + ":{version}\n" + rules);
    return sbpipe({"plan", "--tag", "v1.9.0", "--config", (tmp / "sbpipe.yaml").string(), "--pin-digests", "--plain-http"});
  };

  auto ok = plan(signed_imager, key_rule(registry.host() + "/owner/*", tmp / "owner.pub"));
  CHECK_MESSAGE(ok.exit_code == 0, ok.err);
  CHECK(ok.err.find("verified: a sigstore bundle in the bundle tag sha256-<hex> (rule 0 (" + registry.host() + "/owner/*))") !=
        std::string::npos);

  auto wrong = plan(signed_imager, key_rule(registry.host() + "/owner/*", tmp / "other.pub"));
  CHECK(wrong.exit_code == 1);
  CHECK(wrong.out.empty());
  CHECK(wrong.err.find("imager image " + signed_imager + ":v1.9.0@sha256:") != std::string::npos);
  CHECK(wrong.err.find(": rule 0 (" + registry.host() +
                       "/owner/*): signature check failed: sigstore bundle: the DSSE signature "
                       "does not verify with the key ") != std::string::npos);

  auto unsigned_imager = plan(registry.host() + "/unsigned/imager", key_rule(registry.host() + "/*", tmp / "owner.pub"));
  CHECK(unsigned_imager.exit_code == 1);
  CHECK(unsigned_imager.err.find("signature check failed: no signature found (no bundle referrer, no tag sha256-") !=
        std::string::npos);

  auto no_rule = plan(signed_imager, "");
  CHECK(no_rule.exit_code == 1);
  CHECK(no_rule.err.find(": no rule of imager.image_verification matches " + signed_imager +
                         "; the imager image receives the SecureBoot keys") != std::string::npos);

  auto denied = plan(signed_imager, "  image_verification:\n    rules:\n      - image: '*'\n        deny: true\n");
  CHECK(denied.exit_code == 1);
  CHECK(denied.err.find(": rule 0 (*) denies it") != std::string::npos);
}

}  // TEST_SUITE("integration")
}  // namespace sbpipe::test

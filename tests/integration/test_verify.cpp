// sbpipe verify against real signed binaries: UKIs built from Debian's
// systemd-boot stub, signed by sbsign, packed into installer tarballs and
// xorriso ISOs; every verdict cross-checked with sbverify.

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <sstream>

#include "integration/machine_output.h"
#include "integration/push_helpers.h"
#include "support/secureboot_fixtures.h"

namespace sbpipe::test {
namespace {

// Built once for every case of this file: keys, a signed UKI, a signed
// systemd-boot, and variants.
struct Signed {
  TempDir tmp;
  KeyPair uki_keys;
  KeyPair other_keys;
  fs::path pcr_key, pcr_pub;
  fs::path uki_unsigned, uki, sdboot;

  Signed() {
    uki_keys = make_key_pair(tmp.path(), "uki", "Test UKI Signing");
    other_keys = make_key_pair(tmp.path(), "other", "Somebody Else");
    pcr_key = default_pcr_key();
    pcr_pub = public_half(pcr_key);
    UkiSpec spec;
    uki_unsigned = tmp / "uki-unsigned.efi";
    build_uki(uki_unsigned, spec, tmp / "uki-build");
    uki = tmp / "vmlinuz.efi";
    sbsign(uki_unsigned, uki, uki_keys);
    sdboot = tmp / "systemd-boot.efi";
    sbsign(k_systemd_boot, sdboot, uki_keys);
  }
  fs::path signed_uki(const std::string& name, const UkiSpec& spec) {
    fs::path raw = tmp / (name + "-unsigned.efi"), out = tmp / (name + ".efi");
    build_uki(raw, spec, tmp / (name + "-build"));
    sbsign(raw, out, uki_keys);
    return out;
  }
};

Signed& fixture() {
  static Signed s;
  return s;
}

RunResult verify(std::vector<std::string> paths, const fs::path& cert, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"verify"};
  args.insert(args.end(), paths.begin(), paths.end());
  args.insert(args.end(), {"--cert", cert.string()});
  args.insert(args.end(), extra.begin(), extra.end());
  return sbpipe(args);
}

// Patches 4 little-endian bytes at `offset`.
void patch_u32(const fs::path& file, uint64_t offset, uint32_t value) {
  std::string data = read_file(file);
  for (int i = 0; i < 4; ++i) data[offset + i] = static_cast<char>((value >> (8 * i)) & 0xff);
  write_file(file, data);
}

uint32_t u32_at(const std::string& d, uint64_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = v << 8 | static_cast<uint8_t>(d[at + i]);
  return v;
}

// File offset of the Certificate Table directory entry of a PE32+ image.
uint64_t cert_dir_offset(const fs::path& file) {
  std::string d = read_file(file);
  return u32_at(d, 0x3c) + 24 + 112 + 4 * 8;
}

}  // namespace

TEST_SUITE("integration") {

TEST_CASE("verify: a UKI and systemd-boot signed by the UKI key pass, as sbverify agrees") {
  auto& f = fixture();
  REQUIRE(sbverify_accepts(f.uki, f.uki_keys.cert));
  REQUIRE(sbverify_accepts(f.sdboot, f.uki_keys.cert));
  auto r = verify({f.uki.string(), f.sdboot.string()}, f.uki_keys.cert, {"--pcr-pubkey", f.pcr_pub.string()});
  CHECK_MESSAGE(r.exit_code == 0, (r.out + r.err));
  CHECK(r.out.find("vmlinuz.efi") != std::string::npos);
  CHECK(r.out.find("uki") != std::string::npos);
  CHECK(r.out.find("systemd-boot") != std::string::npos);
  CHECK(r.out.find("VERSION=v1.9.0") != std::string::npos);
  CHECK(r.out.find("pcr11 policy ok") != std::string::npos);

  auto j = verify({f.uki.string(), f.sdboot.string()}, f.uki_keys.cert, {"--format", "json"});
  REQUIRE(j.exit_code == 0);
  check_machine_output("verify", j.out);
  auto doc = nlohmann::json::parse(j.out);
  CHECK(doc["ok"] == true);
  REQUIRE(doc["binaries"].size() == 2);
  CHECK(doc["binaries"][0]["role"] == "uki");
  CHECK(doc["binaries"][0]["cmdline"].get<std::string>().find("lockdown=integrity") != std::string::npos);
  CHECK(doc["binaries"][0]["os_version"] == "v1.9.0");
  CHECK(doc["binaries"][1]["role"] == "systemd-boot");
  CHECK(doc["binaries"][0]["authenticode_sha256"].get<std::string>().size() == 64);
}

TEST_CASE("verify: the Authenticode digest is the one sbverify computes") {
  auto& f = fixture();
  // sbverify --list prints no digest, but a one-byte change outside the
  // hashed ranges (the CheckSum field) must leave both verdicts at "signed".
  fs::path copy = f.tmp / "checksum-changed.efi";
  fs::copy_file(f.uki, copy, fs::copy_options::overwrite_existing);
  std::string d = read_file(copy);
  uint64_t checksum_at = u32_at(d, 0x3c) + 24 + 64;
  patch_u32(copy, checksum_at, 0x12345678);
  CHECK(sbverify_accepts(copy, f.uki_keys.cert));
  CHECK(verify({copy.string()}, f.uki_keys.cert).exit_code == 0);
}

// Issue 20's false reject: EDK2 (DxeImageVerificationHandler) verifies the
// PKCS#7 in a WIN_CERTIFICATE_UEFI_GUID entry of CertType
// EFI_CERT_TYPE_PKCS7_GUID as it does a WIN_CERT_TYPE_PKCS_SIGNED_DATA one;
// OVMF boots such an image (tests/boot corpus case "uefi-guid").
TEST_CASE("verify: a signature in a WIN_CERTIFICATE_UEFI_GUID entry is accepted, as firmware accepts it") {
  auto& f = fixture();
  std::string d = read_file(f.uki);
  uint64_t entry = cert_dir_offset(f.uki);
  uint32_t at = u32_at(d, entry), size = u32_at(d, entry + 4);
  uint32_t length = u32_at(d, at);
  std::string p7 = d.substr(at + 8, length - 8);
  std::string cert(24, '\0');
  cert.replace(8, 16, std::string("\x9d\xd2\xaf\x4a\xdf\x68\xee\x49\x8a\xa9\x34\x7d\x37\x56\x65\xa7", 16));
  cert += p7;
  for (int i = 0; i < 4; ++i) cert[i] = static_cast<char>((cert.size() >> (8 * i)) & 0xff);
  cert[4] = 0x00;
  cert[5] = 0x02;  // wRevision 0x0200
  cert[6] = static_cast<char>(0xf1);
  cert[7] = 0x0e;  // WIN_CERT_TYPE_EFI_GUID
  cert.resize((cert.size() + 7) / 8 * 8, '\0');
  REQUIRE(at + size == d.size());
  fs::path wrapped = f.tmp / "uefi-guid.efi";
  write_file(wrapped, d.substr(0, at) + cert);
  patch_u32(wrapped, entry + 4, static_cast<uint32_t>(cert.size()));
  auto r = verify({wrapped.string()}, f.uki_keys.cert);
  INFO(r.out);
  CHECK(r.exit_code == 0);
}

TEST_CASE("verify: every bad binary fails with its reason, and sbverify agrees on the signature") {
  auto& f = fixture();

  SUBCASE("unsigned") {
    auto r = verify({f.uki_unsigned.string()}, f.uki_keys.cert);
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("FAIL") != std::string::npos);
    CHECK(r.out.find("unsigned") != std::string::npos);
    CHECK_FALSE(sbverify_accepts(f.uki_unsigned, f.uki_keys.cert));
  }
  SUBCASE("signed by another key") {
    auto r = verify({f.uki.string()}, f.other_keys.cert);
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("which is not the db certificate nor issued by it") != std::string::npos);
    CHECK_FALSE(sbverify_accepts(f.uki, f.other_keys.cert));
  }
  SUBCASE("one byte flipped in .linux") {
    fs::path bad = f.tmp / "flipped.efi";
    fs::copy_file(f.uki, bad, fs::copy_options::overwrite_existing);
    auto info = must_run({"objdump", "-h", bad.string()});
    auto at = info.find(".linux");
    REQUIRE(at != std::string::npos);
    // objdump -h columns: Idx Name Size VMA LMA "File off" Algn
    std::istringstream cols(info.substr(at));
    std::string name, size, vma, lma, offset;
    cols >> name >> size >> vma >> lma >> offset;
    std::string data = read_file(bad);
    uint64_t pos = std::stoull(offset, nullptr, 16) + 1000;
    data[pos] = static_cast<char>(data[pos] ^ 0x01);
    write_file(bad, data);
    auto r = verify({bad.string()}, f.uki_keys.cert);
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("does not match the signed digest") != std::string::npos);
    CHECK_FALSE(sbverify_accepts(bad, f.uki_keys.cert));
  }
  SUBCASE("truncated") {
    fs::path bad = f.tmp / "truncated.efi";
    write_file(bad, read_file(f.uki).substr(0, 200000));
    auto r = verify({bad.string()}, f.uki_keys.cert);
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("past the end of the file") != std::string::npos);
    CHECK_FALSE(sbverify_accepts(bad, f.uki_keys.cert));
  }
  SUBCASE("certificate table pointing past the end") {
    fs::path bad = f.tmp / "cert-past-end.efi";
    fs::copy_file(f.uki, bad, fs::copy_options::overwrite_existing);
    uint64_t entry = cert_dir_offset(bad);
    std::string d = read_file(bad);
    patch_u32(bad, entry + 4, u32_at(d, entry + 4) + 4096);
    auto r = verify({bad.string()}, f.uki_keys.cert);
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("certificate table points past the end of the file") != std::string::npos);
    CHECK_FALSE(sbverify_accepts(bad, f.uki_keys.cert));
  }
  SUBCASE("not a PE file") {
    fs::path bad = f.tmp / "garbage.efi";
    write_file(bad, "MZ" + random_bytes(100, 5));
    auto r = verify({bad.string()}, f.uki_keys.cert);
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("not a valid PE image") != std::string::npos);
  }
  SUBCASE("lockdown=confidentiality is forbidden even when properly signed") {
    UkiSpec spec;
    spec.cmdline = "talos.platform=metal lockdown=confidentiality";
    fs::path uki = f.signed_uki("confidential", spec);
    CHECK(sbverify_accepts(uki, f.uki_keys.cert));  // the signature itself is fine
    auto r = verify({uki.string()}, f.uki_keys.cert);
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("cmdline lacks lockdown=integrity") != std::string::npos);
    CHECK(r.out.find("cmdline has forbidden lockdown=confidentiality") != std::string::npos);
    // With the defaults changed, the same UKI passes.
    auto relaxed = verify({uki.string()}, f.uki_keys.cert,
                          {"--require-cmdline", "talos.platform=metal", "--forbid-cmdline", "lockdown=none"});
    CHECK_MESSAGE(relaxed.exit_code == 0, relaxed.out);
  }
  SUBCASE("a PCR public key that is not the given one") {
    auto other_pub = f.tmp / "other-pub.pem";
    must_run({"openssl", "rsa", "-in", f.other_keys.key.string(), "-pubout", "-out", other_pub.string()});
    auto r = verify({f.uki.string()}, f.uki_keys.cert, {"--pcr-pubkey", other_pub.string()});
    CHECK(r.exit_code == 1);
    CHECK(r.out.find(".pcrpkey is not the given PCR public key") != std::string::npos);
  }
}

// The .pcrsig section of a UKI file, as objcopy dumps it (not sbpipe).
std::string dump_pcrsig(const fs::path& uki, const fs::path& dir) {
  fs::path out = dir / (uki.filename().string() + ".pcrsig");
  must_run({"objcopy", "--dump-section", ".pcrsig=" + out.string(), uki.string(), (dir / "discard.efi").string()});
  return read_file(out);
}

TEST_CASE("verify: the signed PCR 11 policy must be the one this UKI boots with, by its own PCR key") {
  auto& f = fixture();
  auto check = [&](const std::string& name, const UkiSpec& spec) {
    auto uki = f.signed_uki(name, spec);
    auto r = verify({uki.string()}, f.uki_keys.cert);
    CHECK_MESSAGE(r.exit_code == 1, name << ": " << r.out);
    return r.out;
  };
  SUBCASE("a .pcrsig from another build (another cmdline) is stale") {
    UkiSpec other;
    other.cmdline = "talos.platform=metal console=ttyS0 lockdown=integrity talos.dashboard.disabled=1";
    auto donor = f.signed_uki("donor", other);
    UkiSpec spec;
    spec.pcrsig = dump_pcrsig(donor, f.tmp.path());
    auto out = check("stale", spec);
    CHECK(out.find(
              "pcr11 policy: sha256: the signed policy is not this UKI's (a stale .pcrsig, or sections changed after signing)") !=
          std::string::npos);
  }
  SUBCASE("signed by another PCR key than .pcrpkey") {
    auto other_key = f.tmp / "other-pcr.pem";
    if (!fs::exists(other_key)) must_run({"openssl", "genrsa", "-traditional", "-out", other_key.string(), "2048"});
    UkiSpec spec;
    spec.pcrsig_key = other_key;
    auto out = check("otherkey", spec);
    CHECK(out.find("sha256: pkfp is not the fingerprint of .pcrpkey (signed with another PCR key)") != std::string::npos);
    CHECK(out.find("sha256: the signature does not verify under .pcrpkey") != std::string::npos);
  }
  SUBCASE("a damaged signature, a missing sha256 bank, no .pcrsig") {
    auto good = nlohmann::json::parse(dump_pcrsig(f.uki, f.tmp.path()));
    auto damaged = good;
    std::string sig = damaged["sha256"][0]["sig"];
    sig[10] = sig[10] == 'A' ? 'B' : 'A';
    damaged["sha256"][0]["sig"] = sig;
    UkiSpec spec;
    spec.pcrsig = damaged.dump();
    CHECK(check("badsig", spec).find("sha256: the signature does not verify under .pcrpkey") != std::string::npos);
    auto no_sha256 = good;
    no_sha256.erase("sha256");
    spec.pcrsig = no_sha256.dump();
    CHECK(check("nobank", spec).find("sha256: missing bank (nodes unseal with the sha256 bank)") != std::string::npos);
    UkiSpec none;
    none.pcr_policy = false;
    CHECK(
        check("nopcr", none).find("pcr11 policy: no .pcrsig: a node sealed to a PCR key cannot unseal its disk with this UKI") !=
        std::string::npos);
  }
  SUBCASE("a .cmdline changed after signing") {
    // The same bytes but one, patched into the unsigned UKI before sbsign.
    std::string data = read_file(f.uki_unsigned);
    auto at = data.find("console=ttyS0");
    REQUIRE(at != std::string::npos);
    data[at + 12] = '1';
    write_file(f.tmp / "edited-unsigned.efi", data);
    sbsign(f.tmp / "edited-unsigned.efi", f.tmp / "edited.efi", f.uki_keys);
    auto r = verify({(f.tmp / "edited.efi").string()}, f.uki_keys.cert);
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("the signed policy is not this UKI's") != std::string::npos);
  }
}

TEST_CASE("verify: a signer issued by the given certificate passes (chain)") {
  auto& f = fixture();
  auto ca = make_key_pair(f.tmp.path(), "ca", "Test SecureBoot CA", 2048, 3650);
  auto leaf = make_issued_pair(f.tmp.path(), "leaf", "Test Leaf Signer", ca);
  fs::path uki = f.tmp / "leaf-signed.efi";
  sbsign(f.uki_unsigned, uki, leaf);
  CHECK(sbverify_accepts(uki, ca.cert));
  auto r = verify({uki.string()}, ca.cert);
  CHECK_MESSAGE(r.exit_code == 0, r.out);
  CHECK(r.out.find("Test Leaf Signer") != std::string::npos);
}

TEST_CASE("verify: installer tarballs, gzip or not, and a directory of outputs") {
  auto& f = fixture();
  for (bool gzip : {true, false}) {
    CAPTURE(gzip);
    fs::path tar = f.tmp / (gzip ? "installer-amd64-secureboot.tar" : "installer-plain-layers.tar");
    write_installer(tar, f.uki, f.sdboot, "amd64", gzip);
    auto r = verify({tar.string()}, f.uki_keys.cert);
    CHECK_MESSAGE(r.exit_code == 0, (r.out + r.err));
    CHECK(r.out.find(tar.string() + "!usr/install/amd64/vmlinuz.efi") != std::string::npos);
    CHECK(r.out.find(tar.string() + "!usr/install/amd64/systemd-boot.efi") != std::string::npos);
  }
  SUBCASE("an unsigned systemd-boot inside fails, naming it") {
    fs::path tar = f.tmp / "installer-unsigned-sdboot.tar";
    write_installer(tar, f.uki, k_systemd_boot, "amd64", true);
    auto r = verify({tar.string()}, f.uki_keys.cert);
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("systemd-boot.efi") != std::string::npos);
    CHECK(r.out.find("unsigned") != std::string::npos);
  }
  SUBCASE("an installer without EFI binaries is refused, not passed") {
    fs::path tar = f.tmp / "installer-no-efi.tar";
    std::vector<TestLayer> layers{make_layer({{"usr/bin/installer", "x"}}, true)};
    write_tar(tar, docker_save_members(layers, config_json("amd64", layers)));
    auto r = verify({tar.string()}, f.uki_keys.cert);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("no usr/install/<arch>/vmlinuz.efi") != std::string::npos);
  }
  SUBCASE("a directory holding the installer and the SecureBoot ISO") {
    TempDir out;
    write_installer(out / "installer-amd64-secureboot.tar", f.uki, f.sdboot, "amd64", true);
    TempDir staging;
    fs::create_directories(staging / "EFI/BOOT");
    fs::create_directories(staging / "EFI/Linux");
    fs::copy_file(f.sdboot, staging / "EFI/BOOT/BOOTX64.EFI");
    fs::copy_file(f.uki, staging / "EFI/Linux/Talos-v1.9.0.efi");
    TempDir enrol;
    write_enrolment(enrol.path(), {f.uki_keys.cert});
    fs::create_directories(staging / "loader/keys/auto");
    fs::copy_file(enrol / "db.auth", staging / "loader/keys/auto/db.auth");
    write_iso(out / "metal-amd64-secureboot.iso", staging.path());
    write_file(out / "sha256sums.txt", "not an artifact\n");
    auto r = verify({out.path().string()}, f.uki_keys.cert, {"--format", "json"});
    CHECK_MESSAGE(r.exit_code == 0, (r.out + r.err));
    auto doc = nlohmann::json::parse(r.out);
    CHECK(doc["binaries"].size() == 6);  // 2 in the installer, 3 in the ISO tree, and its EFI partition's line
  }
  SUBCASE("a missing path and an unknown file are usage-level errors with the name") {
    auto missing = verify({(f.tmp / "nope.tar").string()}, f.uki_keys.cert);
    CHECK(missing.exit_code == 1);
    CHECK(missing.err.find("nope.tar: no such file") != std::string::npos);
    write_file(f.tmp / "notes.txt", "hello");
    auto unknown = verify({(f.tmp / "notes.txt").string()}, f.uki_keys.cert);
    CHECK(unknown.exit_code == 1);
    CHECK(unknown.err.find("notes.txt: not an installer image, ISO image, disk image or EFI binary") != std::string::npos);
  }
}

TEST_CASE("verify: the db is the anchor (--db, --dbx, --cert as a db of one, an ISO's own db.auth)") {
  auto& f = fixture();
  auto with = [&](std::vector<std::string> args) {
    std::vector<std::string> all{"verify"};
    all.insert(all.end(), args.begin(), args.end());
    return sbpipe(all);
  };
  TempDir keys;
  write_enrolment(keys.path(), {f.other_keys.cert, f.uki_keys.cert});
  SUBCASE("a db.auth with several certificates: the one that signed is found") {
    auto r = with({f.uki.string(), "--db", (keys / "db.auth").string()});
    CHECK_MESSAGE(r.exit_code == 0, r.out << r.err);
    CHECK(r.out.find("signed by /CN=Test UKI Signing") != std::string::npos);
  }
  SUBCASE("a dbx holding the signer's certificate refuses the image") {
    TempDir forbid;
    write_enrolment(forbid.path(), {f.uki_keys.cert});
    auto r = with({f.uki.string(), "--db", (keys / "db.auth").string(), "--dbx", (forbid / "db.auth").string()});
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("refused by dbx: verifies under a dbx certificate: forbidden") != std::string::npos);
  }
  SUBCASE("a binary needs a db; --cert and --db together are refused") {
    auto none = with({f.uki.string()});
    CHECK(none.exit_code == 2);
    CHECK(none.err.find("give the db to judge it by (--db FILE or --cert CERT.pem); only an ISO carries its own") !=
          std::string::npos);
    auto both = with({f.uki.string(), "--cert", f.uki_keys.cert.string(), "--db", (keys / "db.auth").string()});
    CHECK(both.exit_code == 2);
    CHECK(both.err.find("--cert and --db both name the db; give one") != std::string::npos);
  }
  SUBCASE("an ISO without --cert or --db is judged by the db it enrols") {
    TempDir staging;
    fs::create_directories(staging / "EFI/BOOT");
    fs::create_directories(staging / "loader/keys/auto");
    fs::copy_file(f.sdboot, staging / "EFI/BOOT/BOOTX64.EFI");
    for (const char* n : {"PK.auth", "KEK.auth", "db.auth"}) fs::copy_file(keys / n, staging / "loader/keys/auto" / n);
    fs::path iso = f.tmp / "own-db.iso";
    write_iso(iso, staging.path());
    auto r = with({iso.string()});
    CHECK_MESSAGE(r.exit_code == 0, r.out << r.err);
    CHECK(r.out.find("holds 2 certificates") != std::string::npos);
  }
}

TEST_CASE("verify: ISO images built by xorriso") {
  auto& f = fixture();
  TempDir staging;
  fs::create_directories(staging / "EFI/BOOT");
  fs::create_directories(staging / "EFI/Linux");
  fs::create_directories(staging / "boot");
  fs::copy_file(f.sdboot, staging / "EFI/BOOT/BOOTX64.EFI");
  fs::copy_file(f.uki, staging / "EFI/Linux/Talos-v1.9.0.efi");
  write_file(staging / "boot/vmlinuz", random_bytes(1000, 1));
  TempDir enrol;
  write_enrolment(enrol.path(), {f.uki_keys.cert});
  fs::create_directories(staging / "loader/keys/auto");
  for (const char* n : {"PK.auth", "KEK.auth", "db.auth"}) fs::copy_file(enrol / n, staging / "loader/keys/auto" / n);
  fs::path iso = f.tmp / "metal-amd64-secureboot.iso";
  write_iso(iso, staging.path());
  auto r = verify({iso.string()}, f.uki_keys.cert);
  CHECK_MESSAGE(r.exit_code == 0, (r.out + r.err));
  CHECK(r.out.find("!EFI/BOOT/BOOTX64.EFI") != std::string::npos);
  CHECK(r.out.find("!EFI/Linux/Talos-v1.9.0.efi") != std::string::npos);
  CHECK(r.out.find("!loader/keys/auto/db.auth") != std::string::npos);
  CHECK(r.out.find("holds 1 certificate; allows every boot binary verify allowed") != std::string::npos);

  SUBCASE("an ISO that enrols a db without the signer fails") {
    TempDir stranger_dir;
    auto stranger = make_key_pair(stranger_dir.path(), "stranger", "Stranger");
    write_enrolment(stranger_dir.path(), {stranger.cert});
    fs::copy_file(stranger_dir / "db.auth", staging / "loader/keys/auto/db.auth", fs::copy_options::overwrite_existing);
    fs::path bad_db_iso = f.tmp / "bad-db.iso";
    write_iso(bad_db_iso, staging.path());
    auto b = verify({bad_db_iso.string()}, f.uki_keys.cert);
    CHECK(b.exit_code == 1);
    CHECK(b.out.find(": nodes enrolled from it will refuse it") != std::string::npos);
  }

  SUBCASE("a plain ISO without EFI binaries is refused") {
    TempDir plain;
    fs::create_directories(plain / "boot");
    write_file(plain / "boot/vmlinuz", "kernel");
    fs::path plain_iso = f.tmp / "plain.iso";
    write_iso(plain_iso, plain.path());
    auto p = verify({plain_iso.string()}, f.uki_keys.cert);
    CHECK(p.exit_code == 1);
    CHECK(p.err.find("no EFI/BOOT/BOOT*.EFI or EFI/Linux/*.efi") != std::string::npos);
  }
  SUBCASE("an ISO whose UKI is signed by another key fails") {
    TempDir bad;
    fs::create_directories(bad / "EFI/Linux");
    fs::path other = f.tmp / "other-signed.efi";
    sbsign(f.uki_unsigned, other, f.other_keys);
    fs::copy_file(other, bad / "EFI/Linux/Talos-v1.9.0.efi");
    fs::path bad_iso = f.tmp / "bad.iso";
    write_iso(bad_iso, bad.path());
    auto b = verify({bad_iso.string()}, f.uki_keys.cert);
    CHECK(b.exit_code == 1);
    CHECK(b.out.find("Somebody Else") != std::string::npos);
  }
}

TEST_CASE("verify: --cert holding a private key is refused unread (exit 2)") {
  auto& f = fixture();
  auto r = verify({f.uki.string()}, f.uki_keys.key);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("holds a private key") != std::string::npos);
  CHECK(r.err.find("BEGIN") == std::string::npos);
}

TEST_CASE("verify: Debian's Microsoft-signed shim and Debian-signed GRUB verify against their own signers") {
  TempDir tmp;
  for (const fs::path& efi :
       {fs::path("/usr/lib/shim/shimx64.efi.signed"), fs::path("/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed")}) {
    CAPTURE(efi);
    REQUIRE(fs::exists(efi));
    auto certs = embedded_certificates(efi, tmp.path());
    REQUIRE(!certs.empty());
    for (const auto& cert : certs) {
      CAPTURE(read_file(cert).substr(0, 80));
      bool ours = verify({efi.string()}, cert).exit_code == 0;
      CHECK(ours == sbverify_accepts(efi, cert));
    }
    // The first certificate is the signer: both accept it.
    CHECK(verify({efi.string()}, certs.front()).exit_code == 0);
    // A key of our own is refused. sbverify (0.9.4) agrees for GRUB but
    // accepts the dual-signed shim with any certificate at all: its verify
    // callback forgives chain errors, so it is no oracle for that case.
    auto mine = make_key_pair(tmp.path(), "mine-" + efi.stem().string(), "Not Microsoft");
    CHECK(verify({efi.string()}, mine.cert).exit_code == 1);
    if (efi.filename() == "grubx64.efi.signed") CHECK_FALSE(sbverify_accepts(efi, mine.cert));
  }
}

}  // TEST_SUITE("integration")
}  // namespace sbpipe::test

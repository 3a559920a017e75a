// What imager really writes, per Talos line (the model in scripts/talos_model/,
// built from siderolabs/talos's source), through the steps a real build's
// outputs go through: verify, push-installer (docker-registry, read back with
// skopeo) and pxe-extract. Nothing imager writes by default is refused;
// every boot profile is gated.

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "integration/push_helpers.h"
#include "support/registry_server.h"
#include "support/secureboot_fixtures.h"
#include "support/talos_model.h"

namespace sbpipe::test {
namespace {

using nlohmann::json;

// The default plan's outputs for one line, built once per line.
struct LineBuild {
  TalosLine line;
  TempDir dir;
  fs::path keys = dir / "keys";
  fs::path out = dir / "out";

  explicit LineBuild(const TalosLine& l, const std::map<std::string, std::string>& env = {}) : line(l) {
    make_owner_keys(keys);
    auto plan = sbpipe({"plan", "--tag", line.version, "--format", "argo"});
    REQUIRE_MESSAGE(plan.exit_code == 0, plan.err);
    for (const auto& inv : json::parse(plan.out)) {
      std::vector<std::string> args;
      for (const auto& a : inv["args"]) args.push_back(a.get<std::string>());
      // plan writes "--output /out"; the model is told its own directory last.
      auto r = try_model(args, out, keys, line, env);
      REQUIRE_MESSAGE(r.exit_code == 0, inv["name"].get<std::string>() << ": " << r.err);
      REQUIRE(fs::exists(out / inv["output_file"].get<std::string>()));
    }
  }
  fs::path cert() const { return keys / "uki-signing-cert.pem"; }
  fs::path installer() const { return out / "installer-amd64-secureboot.tar"; }
  fs::path sb_iso() const { return out / "metal-amd64-secureboot.iso"; }
  fs::path plain_iso() const { return out / "metal-amd64.iso"; }
};

std::string config_of(const std::string& image) {
  return must_run({"skopeo", "inspect", "--tls-verify=false", "--config", "--raw", "docker://" + image});
}

}  // namespace

TEST_SUITE("integration") {

TEST_CASE("Talos lines: the default outputs of every line pass verify, push-installer and pxe-extract") {
  LocalRegistry registry;
  for (const auto& line : model_lines()) {
    SUBCASE(("Talos " + line.line).c_str()) {
      LineBuild b(line);
      auto verified = sbpipe(
          {"verify", b.installer().string(), b.sb_iso().string(), "--cert", b.cert().string(), "--talos-version", line.version});
      CHECK_MESSAGE(verified.exit_code == 0, verified.out << verified.err);
      CHECK(verified.out.find("EFI/Linux/Talos-" + line.version + ".efi") != std::string::npos);
      CHECK(verified.out.find("VERSION=" + line.version) != std::string::npos);        // from .osrel VERSION_ID
      CHECK(verified.out.find(" names " + line.version + "\n") != std::string::npos);  // --talos-version: every UKI
      // The ISO's enrolment mode, reported (imager's default for the secureboot-iso profile).
      CHECK(verified.out.find("ok    secure-boot-enroll if-safe: systemd-boot enrols the keys by itself only in a virtual "
                              "machine") != std::string::npos);
      if (line.line == "1.9") {
        CHECK(verified.out.find("profiles") == std::string::npos);
      } else {
        CHECK(verified.out.find("profiles main reset-maintenance") != std::string::npos);  // the installer's UKI
        CHECK(verified.out.find("profiles main reset,") != std::string::npos);             // the ISO's
      }
      auto json_report =
          json::parse(sbpipe({"verify", "--format", "json", b.sb_iso().string(), "--cert", b.cert().string()}).out);
      for (const auto& bin : json_report["binaries"])
        if (bin["role"] == "uki" && line.line != "1.9") {
          REQUIRE(bin["profiles"].size() == 2);
          CHECK(bin["profiles"][1]["cmdline"].get<std::string>().ends_with("lockdown=integrity talos.experimental.wipe=system"));
        }

      std::string ref = registry.host() + "/owner/installer:" + line.version;
      auto pushed = push({b.installer().string()}, ref);
      REQUIRE_MESSAGE(pushed.exit_code == 0, pushed.err);
      auto manifest = json::parse(skopeo_raw(ref));
      CHECK(manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json");
      auto config = json::parse(config_of(ref));
      if (line.line == "1.9") {
        // imager 1.9 leaves the platform empty; sbpipe keeps the config as
        // imager wrote it and says where it took the platform from.
        CHECK(config["architecture"] == "");
        CHECK(manifest["annotations"]["dev.sbpipe.platform"] ==
              "linux/amd64 from usr/install/amd64/ (the image config names none)");
      } else {
        CHECK(config["architecture"] == "amd64");
        CHECK_FALSE(manifest.contains("annotations"));
      }
      CHECK(config["rootfs"]["type"] == (line.line == "1.11" ? "" : "layers"));

      auto pxe = sbpipe({"pxe-extract", b.plain_iso().string(), "--out", (b.dir / "pxe").string()});
      CHECK_MESSAGE(pxe.exit_code == 0, pxe.err);
      // The ISO's own kernel and initramfs, as xorriso extracts them.
      must_run({"xorriso", "-osirrox", "on", "-indev", b.plain_iso().string(), "-extract", "/boot", (b.dir / "boot").string()});
      CHECK(read_file(b.dir / "pxe" / "vmlinuz-amd64") == read_file(b.dir / "boot" / "vmlinuz"));
      CHECK(read_file(b.dir / "pxe" / "initramfs-amd64.xz") == read_file(b.dir / "boot" / "initramfs.xz"));
    }
  }
}

TEST_CASE("Talos lines: 1.14 enrolment modes reach the ISO and verify reports them; a partial key set exits 2") {
  const TalosLine& l114 = model_lines()[3];
  REQUIRE(l114.line == "1.14");
  TempDir dir;
  make_owner_keys(dir / "keys");
  auto cert = (dir / "keys" / "uki-signing-cert.pem").string();
  for (const std::string mode : {"force", "manual", "off"}) {
    std::vector<std::string> args{"secureboot-iso", "--secureboot-enroll-keys", mode};
    args.insert(args.end(), k_lockdown_args.begin(), k_lockdown_args.end());
    run_model(args, dir / mode, dir / "keys", l114);
    auto r = sbpipe({"verify", (dir / mode / "metal-amd64-secureboot.iso").string(), "--cert", cert, "--format", "json"});
    CHECK_MESSAGE(r.exit_code == 0, r.out << r.err);
    bool reported = false;
    const auto report = json::parse(r.out);
    for (const auto& line : report["binaries"])
      if (line["role"] == "enrolment") {
        reported = true;
        CHECK(line["reason"].get<std::string>().starts_with("secure-boot-enroll " + mode + ": "));
        CHECK(line["reason"].get<std::string>().ends_with("loader/keys/auto holds KEK.auth, PK.auth, db.auth"));
      }
    CHECK_MESSAGE(reported, r.out);
  }
  // The UKI names another version than the release: verify --talos-version refuses it.
  auto other =
      sbpipe({"verify", (dir / "force" / "metal-amd64-secureboot.iso").string(), "--cert", cert, "--talos-version", "v1.14.1"});
  CHECK(other.exit_code == 1);
  CHECK(other.out.find("is v1.14.0; expected v1.14.1") != std::string::npos);

  // imager 1.14 refuses a partial PK/KEK/db.auth set with its invalid-input code.
  fs::copy_file(dir / "keys" / "uki-signing-cert.pem", dir / "keys" / "PK.auth");
  auto partial = try_model({"secureboot-iso"}, dir / "partial", dir / "keys", l114);
  CHECK(partial.exit_code == 2);
  CHECK(partial.err.find("partial SecureBoot pre-built database configuration") != std::string::npos);
}

TEST_CASE("Talos lines: a 1.9 installer pushed as one of two architectures gets its platform from its layers") {
  const TalosLine& l19 = model_lines()[0];
  TempDir dir;
  make_owner_keys(dir / "keys");
  for (const char* arch : {"amd64", "arm64"}) {
    std::vector<std::string> args{"secureboot-installer", "--arch", arch};
    args.insert(args.end(), k_lockdown_args.begin(), k_lockdown_args.end());
    run_model(args, dir / arch, dir / "keys", l19);
  }
  LocalRegistry registry;
  std::string ref = registry.host() + "/owner/installer:v1.9.0";
  auto pushed = push(
      {(dir / "amd64" / "installer-amd64-secureboot.tar").string(), (dir / "arm64" / "installer-arm64-secureboot.tar").string()},
      ref);
  REQUIRE_MESSAGE(pushed.exit_code == 0, pushed.err);
  auto index = json::parse(skopeo_raw(ref));
  REQUIRE(index["manifests"].size() == 2);
  CHECK(index["manifests"][0]["platform"]["architecture"] == "amd64");
  CHECK(index["manifests"][1]["platform"]["architecture"] == "arm64");
  CHECK(index["annotations"]["dev.sbpipe.platform"] ==
        "linux/amd64 from usr/install/amd64/ (the image config names none); linux/arm64 from usr/install/arm64/ (the image "
        "config names none)");
  auto verified = sbpipe({"verify", (dir / "arm64" / "installer-arm64-secureboot.tar").string(), "--cert",
                          (dir / "keys" / "uki-signing-cert.pem").string()});
  CHECK_MESSAGE(verified.exit_code == 0, verified.out);
  auto two = push({(dir / "amd64" / "installer-amd64-secureboot.tar").string()}, ref + "-x", {"--arch", "arm64"});
  CHECK(two.exit_code == 0);  // --arch is taken for a config that names none
  auto refused = push(
      {(dir / "amd64" / "installer-amd64-secureboot.tar").string(), (dir / "arm64" / "installer-arm64-secureboot.tar").string()},
      ref, {"--arch", "arm64"});
  CHECK(refused.exit_code == 2);
  CHECK(refused.err.find("--arch names the platform of one INPUT") != std::string::npos);
}

TEST_CASE("Talos lines: every boot profile is gated, and what imager writes in odd cases is named") {
  const TalosLine& l111 = model_lines()[1];
  TempDir dir;
  make_owner_keys(dir / "keys");
  auto cert = (dir / "keys" / "uki-signing-cert.pem").string();
  std::vector<std::string> iso{"secureboot-iso"};
  iso.insert(iso.end(), k_lockdown_args.begin(), k_lockdown_args.end());

  SUBCASE("a 1.11 UKI whose reset profile says lockdown=confidentiality fails, naming the profile") {
    run_model(iso, dir / "out", dir / "keys", l111, {{"STANDIN_EXTRA_PROFILE_ARGS", "lockdown=confidentiality"}});
    auto r = sbpipe({"verify", (dir / "out" / "metal-amd64-secureboot.iso").string(), "--cert", cert});
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("FAIL  profile reset: cmdline has forbidden lockdown=confidentiality") != std::string::npos);
    CHECK(r.out.find("profile main") == std::string::npos);  // the main profile passed
  }
  SUBCASE("imager 1.11 building a 1.9 SecureBoot installer names the UKI vmlinuz.efi.signed") {
    std::vector<std::string> args{"secureboot-installer"};
    args.insert(args.end(), k_lockdown_args.begin(), k_lockdown_args.end());
    run_model(args, dir / "out", dir / "keys", TalosLine{"1.11", "v1.9.3"});
    auto r = sbpipe({"verify", (dir / "out" / "installer-amd64-secureboot.tar").string(), "--cert", cert});
    CHECK_MESSAGE(r.exit_code == 0, r.out << r.err);
    CHECK(r.out.find("usr/install/amd64/vmlinuz.efi.signed  uki") != std::string::npos);
  }
  SUBCASE("a Talos 1.8.0-1.8.2 SecureBoot ISO (EFI files only in efiboot.img) names the cause and the fix") {
    run_model(iso, dir / "out", dir / "keys", TalosLine{"1.9", "v1.8.1"});
    auto r = sbpipe({"verify", (dir / "out" / "metal-amd64-secureboot.iso").string(), "--cert", cert});
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("its EFI binaries are only inside efiboot.img, as Talos 1.8.0-1.8.2 built SecureBoot ISOs (fixed in 1.8.3); "
                     "build with Talos 1.8.3 or later") != std::string::npos);
  }
  SUBCASE("an arm64 1.13 plain ISO boots with sd-boot only: pxe-extract says where the PXE files are") {
    run_model({"iso", "--arch", "arm64"}, dir / "out", dir / "keys", model_lines()[2]);
    auto r =
        sbpipe({"pxe-extract", (dir / "out" / "metal-arm64.iso").string(), "--out", (dir / "pxe").string(), "--arch", "arm64"});
    CHECK(r.exit_code == 1);
    CHECK(
        r.err.find("this ISO boots with systemd-boot and a UKI only (a SecureBoot ISO, or a Talos 1.12+ arm64 ISO); take the PXE "
                   "files from imager's kernel and initramfs outputs") != std::string::npos);
    CHECK_FALSE(fs::exists(dir / "pxe" / "vmlinuz-arm64"));
  }
  SUBCASE("unsigned or wrongly signed output is stopped by verify") {
    for (const std::string mode : {"none", "wrong"}) {
      run_model(iso, dir / mode, dir / "keys", l111, {{"STANDIN_SIGN", mode}});
      auto r = sbpipe({"verify", (dir / mode / "metal-amd64-secureboot.iso").string(), "--cert", cert});
      CHECK_MESSAGE(r.exit_code == 1, mode);
      CHECK(r.out.find("FAIL") != std::string::npos);
    }
  }
}

}  // TEST_SUITE("integration")

}  // namespace sbpipe::test

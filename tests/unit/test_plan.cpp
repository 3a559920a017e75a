// The release plan (plan/plan.h): imager's invocations from the config, the
// publication (gate, installer, assets), and the plan's JSON read back.

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <functional>

#include "core/temp_dir.h"
#include "plan/plan.h"
#include "plan/published.h"
#include "release/ipxe.h"

namespace sbpipe {
namespace {

std::vector<std::string> asset_names(const Plan& plan) {
  std::vector<std::string> names;
  for (const auto& a : plan.publish.assets) names.push_back(a.name);
  return names;
}

}  // namespace

TEST_SUITE("unit") {
TEST_CASE("plan: defaults, overrides and imager's refusals") {
  PlanConfig config;
  config.pxe = false;
  auto plan = make_plan("v1.9.0", config, nullptr);
  REQUIRE(plan.has_value());
  REQUIRE(plan->invocations.size() == 3);
  const auto& sb = plan->invocations[0];
  CHECK(sb.image == "ghcr.io/siderolabs/imager:v1.9.0");
  CHECK(sb.args == std::vector<std::string>{"secureboot-installer", "--arch", "amd64", "--output", "/out", "--extra-kernel-arg",
                                            "-lockdown", "--extra-kernel-arg", "lockdown=integrity"});
  CHECK(plan->invocations[1].output_file == "metal-amd64-secureboot.iso");
  CHECK(plan->invocations[2].output_file == "metal-amd64.iso");

  SUBCASE("extensions, base installer and two architectures; META only on images") {
    config.architectures = {"amd64", "arm64"};
    config.outputs = {"secureboot-installer", "iso"};
    config.base_installer_image = "ghcr.io/owner/installer:{version}";
    config.system_extensions = {"ghcr.io/siderolabs/gvisor:20231214.0-v1.6.0"};
    auto p = make_plan("v1.9.0", config, nullptr);
    REQUIRE_MESSAGE(!!p, p.error().message());
    REQUIRE(p->invocations.size() == 4);
    CHECK(p->invocations[1].name == "secureboot-installer-arm64");
    const auto& args = p->invocations[0].args;
    CHECK(std::find(args.begin(), args.end(), "ghcr.io/owner/installer:v1.9.0") != args.end());
    const auto& iso_args = p->invocations[2].args;
    CHECK(std::find(iso_args.begin(), iso_args.end(), "--base-installer-image") == iso_args.end());
    config.outputs = {"iso"};
    config.meta = {"0xa=value"};
    auto with_meta = make_plan("v1.9.0", config, nullptr);
    REQUIRE(with_meta.has_value());
    const auto& meta_args = with_meta->invocations[0].args;
    CHECK(std::find(meta_args.begin(), meta_args.end(), "0xa=value") != meta_args.end());
  }
  SUBCASE("refusals") {
    auto refused = [](PlanConfig c, const std::string& version = "v1.9.0") {
      auto p = make_plan(version, c, nullptr);
      return p ? std::string("(planned)") : p.error().message();
    };
    PlanConfig c;
    CHECK(refused(c, "v1.9.0 bad").find("not a valid image tag") != std::string::npos);
    c.outputs = {"floppy"};
    CHECK(refused(c).find("unknown output 'floppy'") != std::string::npos);
    c = {};
    c.outputs = {"iso", "iso"};
    CHECK(refused(c).find("listed twice") != std::string::npos);
    c = {};
    c.outputs = {"installer"};
    c.extra_kernel_args = {"console=ttyS0"};
    CHECK(refused(c).find("imager refuses kernel args") != std::string::npos);
    c = {};
    c.meta = {"0xa=x"};
    CHECK(refused(c).find("imager refuses META values") != std::string::npos);
    c = {};
    c.meta = {"name=x"};
    CHECK(refused(c) == "meta: 'name=x' is not KEY=VALUE with a key of 0-255 (e.g. 0xa=..., 10=...)");
    c = {};
    c.extra_kernel_args = {"a b"};
    CHECK(refused(c).find("must be one word") != std::string::npos);
    c = {};
    c.system_extensions = {"siderolabs/gvisor:latest"};
    CHECK(refused(c).find("must name a registry host") != std::string::npos);
  }
  SUBCASE("pinning asks the resolver for each tagged image, once, and keeps pinned ones") {
    std::vector<std::string> asked;
    DigestResolver resolver = [&](const ImageRef& ref) -> Result<std::string> {
      asked.push_back(ref.str());
      return "sha256:" + std::string(64, 'a');
    };
    config.system_extensions = {"ghcr.io/a/b:1", "ghcr.io/a/c:2@sha256:" + std::string(64, 'b')};
    auto p = make_plan("v1.9.0", config, &resolver);
    REQUIRE(p.has_value());
    CHECK(asked == std::vector<std::string>{"ghcr.io/siderolabs/imager:v1.9.0", "ghcr.io/a/b:1"});
    CHECK(p->invocations[0].image == "ghcr.io/siderolabs/imager:v1.9.0@sha256:" + std::string(64, 'a'));
    DigestResolver failing = [](const ImageRef&) -> Result<std::string> { return fail(ErrorKind::not_found, "tag not found"); };
    auto f = make_plan("v1.9.0", config, &failing);
    REQUIRE_FALSE(f.has_value());
    CHECK(f.error().message().find("cannot pin to a digest: tag not found") != std::string::npos);
  }
}

TEST_CASE("plan: network-boot assets come from imager, signed for SecureBoot plans") {
  PlanConfig c;
  c.extra_kernel_args = {"console=ttyS0"};
  c.meta = {"0xa=x"};
  c.outputs = {"secureboot-iso", "iso"};
  c.system_extensions = {"ghcr.io/siderolabs/gvisor:1"};
  auto p = make_plan("v1.11.0", c, nullptr);
  REQUIRE_MESSAGE(p.has_value(), p.error().message());
  REQUIRE(p->invocations.size() == 6);
  auto by = [&](const std::string& name) -> const ImagerInvocation& {
    for (const auto& inv : p->invocations)
      if (inv.name == name) return inv;
    FAIL("no invocation " << name);
    return p->invocations.front();
  };
  const auto& kernel = by("pxe-kernel-amd64");
  CHECK(kernel.args == std::vector<std::string>{"iso", "--arch", "amd64", "--output", "/out", "--output-kind", "kernel",
                                                "--system-extension-image", "ghcr.io/siderolabs/gvisor:1"});
  CHECK(kernel.output_file == "kernel-amd64");
  CHECK_FALSE(kernel.secureboot);
  CHECK(by("pxe-initramfs-amd64").output_file == "initramfs-metal-amd64.xz");
  const auto& cmdline = by("pxe-cmdline-amd64");
  CHECK(cmdline.args == std::vector<std::string>{"iso", "--arch", "amd64", "--output", "/out", "--output-kind", "cmdline",
                                                 "--system-extension-image", "ghcr.io/siderolabs/gvisor:1", "--extra-kernel-arg",
                                                 "console=ttyS0", "--meta", "0xa=x"});
  const auto& uki = by("pxe-uki-amd64");
  CHECK(uki.profile == "secureboot-metal-uki");
  CHECK(uki.secureboot);
  CHECK(uki.output_file == "metal-amd64-secureboot-uki.efi");
  CHECK(uki.args[5] == "--system-extension-image");
  CHECK(std::find(uki.args.begin(), uki.args.end(), "lockdown=integrity") != uki.args.end());
  auto old = make_plan("v1.9.2", c, nullptr);
  REQUIRE(old.has_value());
  CHECK(old->invocations.back().args[0] == "secureboot-iso");  // before 1.10: the SecureBoot ISO profile's UKI output
  CHECK(old->invocations.back().args[6] == "uki");
  c.outputs = {"iso"};
  auto plain = make_plan("v1.11.0", c, nullptr);
  REQUIRE(plain.has_value());
  CHECK(plain->invocations.size() == 4);  // no SecureBoot output: no signed UKI
}

TEST_CASE("plan: the rules that differ between Talos versions") {
  auto planned = [](PlanConfig c, const std::string& version) {
    auto p = make_plan(version, c, nullptr);
    return p ? std::string("(planned)") : p.error().message();
  };
  PlanConfig c;
  c.outputs = {"installer"};
  c.extra_kernel_args = {"console=ttyS0"};
  SUBCASE("kernel args on the plain installer: refused before 1.10, taken from 1.10 (it carries a UKI)") {
    CHECK(planned(c, "v1.9.6") ==
          "extra_kernel_args: imager refuses kernel args for the 'installer' output before Talos 1.10 "
          "(only SecureBoot installers carry a cmdline)");
    CHECK(planned(c, "v1.10.0") == "(planned)");
    CHECK(planned(c, "v1.13.2") == "(planned)");
    CHECK(planned(c, "custom-build") == "(planned)");  // no Talos version: the newest rules, as imager's quirks
    c.talos_version = "v1.9.0";
    CHECK(planned(c, "custom-build").starts_with("extra_kernel_args: imager refuses"));
    c.talos_version = "nine";
    CHECK(planned(c, "custom-build") ==
          "talos_version 'nine': a Talos version is vMAJOR.MINOR.PATCH[-PRE], such as v1.12.4 or v1.14.0-rc.1 "
          "(sbpipe supports v1.8.3 through the v1.14 line)");
  }
  SUBCASE("META keys as strconv.ParseUint(key, 0, 8) reads them") {
    PlanConfig m;
    m.outputs = {"iso"};
    for (const char* ok : {"0=x", "10=x", "255=x", "0xa=x", "0XFF=x", "0o17=x", "0b101=x", "010=x", "0377=x"}) {
      m.meta = {ok};
      CHECK_MESSAGE(planned(m, "v1.9.0") == "(planned)", ok);
    }
    for (const char* bad : {"256=x", "08=x", "0400=x", "0x100=x", "0b2=x", "0x=x", "-1=x", "=x", "a=x", "10"}) {
      m.meta = {bad};
      CHECK_MESSAGE(planned(m, "v1.9.0").starts_with("meta: '"), bad);
    }
  }
  SUBCASE("disk images are .raw.zst and must be listed as unverified to be planned") {
    PlanConfig d;
    d.outputs = {"secureboot-iso", "secureboot-metal"};
    CHECK(planned(d, "v1.11.0") ==
          "outputs: 'secureboot-metal' is a disk image, which verify cannot look inside, so it would be "
          "published unchecked; list it under imager.unverified_outputs to publish it anyway (marked unverified)");
    d.unverified_outputs = {"secureboot-iso"};
    CHECK(planned(d, "v1.11.0") == "unverified_outputs: 'secureboot-iso' can be verified; only disk images may be listed");
    d.unverified_outputs = {"metal"};
    CHECK(planned(d, "v1.11.0") == "unverified_outputs: 'metal' is not one of the outputs");
    d.unverified_outputs = {"secureboot-metal"};
    auto p = make_plan("v1.11.0", d, nullptr);
    REQUIRE(p.has_value());
    CHECK(p->invocations[1].output_file == "metal-amd64-secureboot.raw.zst");
    // Published, marked unverified, and not among the gate's inputs.
    CHECK(p->publish.gate == std::vector<std::string>{"metal-amd64-secureboot.iso", "metal-amd64-secureboot-uki.efi"});
    CHECK(p->publish.assets[1].name == "metal-amd64-secureboot.raw.zst");
    CHECK_FALSE(p->publish.assets[1].verified);
    CHECK(p->publish.assets[0].verified);
  }
  SUBCASE("Microsoft's certificates in db on request, for SecureBoot ISOs and disk images") {
    PlanConfig w;
    w.secureboot_include_well_known_certs = true;
    auto p = make_plan("v1.11.0", w, nullptr);
    REQUIRE(p.has_value());
    auto has_flag = [](const ImagerInvocation& inv) {
      return std::find(inv.args.begin(), inv.args.end(), "--secureboot-include-well-known-certs") != inv.args.end();
    };
    CHECK_FALSE(has_flag(p->invocations[0]));  // secureboot-installer: no enrolment files in it
    CHECK(has_flag(p->invocations[1]));        // secureboot-iso
    CHECK_FALSE(has_flag(p->invocations[2]));  // iso
  }
  SUBCASE("kernel args the kernel would read differently are refused") {
    PlanConfig k;
    k.extra_kernel_args = {"\"lockdown=confidentiality\""};
    CHECK(planned(k, "v1.11.0") ==
          "extra_kernel_args: '\"lockdown=confidentiality\"' holds a double quote, which the kernel "
          "strips (so it reads another value)");
    k.extra_kernel_args = {"--"};
    CHECK(planned(k, "v1.11.0") == "extra_kernel_args: '--' is \"--\", after which every argument goes to init, not the kernel");
    k.extra_kernel_args = {std::string("a\0b", 3)};
    CHECK(planned(k, "v1.11.0").ends_with("holds a NUL byte, where the kernel command line ends"));
  }
}

TEST_CASE("plan config: YAML errors name the file and key") {
  auto ok = parse_plan_config("imager:\n  outputs: [iso]\n  architectures: [arm64]\nother_section: {x: 1}\n", "f.yaml");
  REQUIRE(ok.has_value());
  CHECK(ok->outputs == std::vector<std::string>{"iso"});
  CHECK(parse_plan_config("imager:\n  outputs: iso\n", "f.yaml").error().message() ==
        "f.yaml: imager.outputs must be a list of strings");
  CHECK(parse_plan_config("imager:\n  colour: red\n", "f.yaml").error().message() == "f.yaml: unknown key imager.colour");
  CHECK(parse_plan_config("imager: [\n", "f.yaml").error().message().starts_with("f.yaml: not valid YAML"));
  CHECK(parse_plan_config("imager:\n  outputs: iso\n", "f.yaml").error().kind() == ErrorKind::config);
}

TEST_CASE("plan shell: words are quoted for sh") {
  CHECK(shell_quote("ghcr.io/a/b:1") == "ghcr.io/a/b:1");
  CHECK(shell_quote("a b") == "'a b'");
  CHECK(shell_quote("it's") == "'it'\\''s'");
  CHECK(shell_quote("") == "''");
  Plan p;
  p.invocations.push_back(ImagerInvocation{"iso-amd64",
                                           "iso",
                                           "amd64",
                                           false,
                                           OutputKind::iso,
                                           "img:1",
                                           {"iso", "--extra-kernel-arg", "x=$(reboot)"},
                                           "metal-amd64.iso"});
  std::string text = plan_shell(p, ShellOptions{"podman", "/srv/my out", ""});
  CHECK(text.find("podman run --rm -t -v '/srv/my out:/out' img:1 iso --extra-kernel-arg 'x=$(reboot)'") != std::string::npos);
  CHECK(text.find("/secureboot") == std::string::npos);  // no keys for a plain ISO
}

TEST_CASE("plan: the publication names what the gate checks, what is pushed and every asset") {
  PlanConfig c;
  c.architectures = {"amd64", "arm64"};
  auto p = make_plan("v1.11.0", c, nullptr);
  REQUIRE_MESSAGE(p.has_value(), p.error().message());
  CHECK(p->publish.installer == std::vector<std::string>{"installer-amd64-secureboot.tar", "installer-arm64-secureboot.tar"});
  CHECK(p->publish.gate == std::vector<std::string>{"installer-amd64-secureboot.tar", "installer-arm64-secureboot.tar",
                                                    "metal-amd64-secureboot.iso", "metal-arm64-secureboot.iso",
                                                    "metal-amd64-secureboot-uki.efi", "metal-arm64-secureboot-uki.efi"});
  CHECK(asset_names(*p) ==
        std::vector<std::string>{"metal-amd64-secureboot.iso", "metal-arm64-secureboot.iso", "metal-amd64.iso", "metal-arm64.iso",
                                 "vmlinuz-amd64", "initramfs-amd64.xz", "cmdline-metal-amd64", "metal-amd64-secureboot-uki.efi",
                                 "metal-amd64.ipxe", "vmlinuz-arm64", "initramfs-arm64.xz", "cmdline-metal-arm64",
                                 "metal-arm64-secureboot-uki.efi", "metal-arm64.ipxe", "sha512sum.txt", "sha256sum.txt"});
  const auto& script = p->publish.assets[8];
  CHECK(script.source == AssetSource::generated);
  CHECK(script.generator == Generator::ipxe_script);
  CHECK(script.inputs == std::vector<std::string>{"vmlinuz-amd64", "initramfs-amd64.xz", "cmdline-metal-amd64"});
  CHECK(p->publish.assets[4].file == "kernel-amd64");  // imager's name, published as vmlinuz-amd64
  CHECK(p->publish.assets.back().generator == Generator::checksums);

  c.pxe = false;
  c.outputs = {"iso"};
  auto plain = make_plan("v1.11.0", c, nullptr);
  REQUIRE(plain.has_value());
  CHECK(plain->publish.installer.empty());
  CHECK(plain->publish.gate.empty());
}

TEST_CASE("plan JSON: read back as written; anything else named by its field") {
  PlanConfig c;
  c.outputs = {"secureboot-installer", "secureboot-iso", "secureboot-metal"};
  c.unverified_outputs = {"secureboot-metal"};
  auto p = make_plan("v1.13.0", c, nullptr);
  REQUIRE(p.has_value());
  const std::string text = plan_json(*p);
  auto back = parse_plan_json(text, "plan.json");
  REQUIRE_MESSAGE(back.has_value(), back.error().message());
  CHECK(plan_json(*back) == text);
  // `sbpipe plan -o json` prints the same object with schemaVersion 1 first.
  auto printed = nlohmann::json::parse(text);
  printed["schemaVersion"] = 1;
  CHECK(parse_plan_json(printed.dump(), "plan.json").has_value());

  auto refused = [&](const std::function<void(nlohmann::json&)>& change) {
    auto j = nlohmann::json::parse(text);
    change(j);
    auto r = parse_plan_json(j.dump(), "plan.json");
    return r ? std::string("(read)") : r.error().message();
  };
  CHECK(refused([](auto& j) { j["schemaVersion"] = 2; }) == "plan.json: schemaVersion 2 is not 1");
  CHECK(refused([](auto& j) { j.erase("publish"); }) == "plan.json: publish is missing");
  CHECK(refused([](auto& j) { j["invocations"][0]["kind"] = "floppy"; }) ==
        "plan.json: invocations[0].kind 'floppy' is not an output kind");
  CHECK(refused([](auto& j) { j["invocations"][1]["output_file"] = "../../etc/shadow"; }) ==
        "plan.json: invocations[1].output_file '../../etc/shadow' is not a file name");
  CHECK(refused([](auto& j) { j["publish"]["installer"] = {"other.tar"}; }) ==
        "plan.json: publish.installer names other.tar, which no invocation makes");
  CHECK(refused([](auto& j) { j["publish"]["assets"][0]["file"] = "/etc/passwd"; }) ==
        "plan.json: publish.assets[0].file '/etc/passwd' is not a file name");
  CHECK(refused([](auto& j) { j["publish"]["assets"][0]["generator"] = "ipxe-script"; }) ==
        "plan.json: publish.assets[0] is imager with generator 'ipxe-script'");
  CHECK(refused([](auto& j) { j["publish"]["assets"][0]["verified"] = "yes"; }) ==
        "plan.json: publish.assets[0].verified is not true or false");
  CHECK(parse_plan_json("[", "plan.json").error().message() == "plan.json: not JSON");
}

TEST_CASE("published files: imager outputs under their asset names, the iPXE script rendered from the cmdline") {
  PlanConfig c;
  auto p = make_plan("v1.13.0", c, nullptr);
  REQUIRE(p.has_value());
  auto dir = ScratchDir::create("sbpipe-published");
  REQUIRE(dir.has_value());
  const auto out = dir->path();
  for (const auto& inv : p->invocations) std::ofstream(out / inv.output_file) << inv.name;
  std::ofstream(out / "cmdline-metal-amd64", std::ios::trunc) << "talos.platform=metal console=ttyS0 lockdown=integrity\n";

  auto files = release_files(*p, out);
  REQUIRE_MESSAGE(files.has_value(), files.error().message());
  std::vector<std::string> names;
  for (const auto& f : *files) names.push_back(f.name);
  CHECK(names == std::vector<std::string>{"metal-amd64-secureboot.iso", "metal-amd64.iso", "vmlinuz-amd64", "initramfs-amd64.xz",
                                          "cmdline-metal-amd64", "metal-amd64-secureboot-uki.efi", "metal-amd64.ipxe"});
  CHECK((*files)[2].origin == (out / "kernel-amd64").string());
  CHECK((*files)[6].origin == "(generated)");
  CHECK(installer_inputs(*p, out) == std::vector<std::string>{(out / "installer-amd64-secureboot.tar").string()});

  std::ofstream(out / "cmdline-metal-amd64", std::ios::trunc) << "talos.platform=metal talos.config=${url}\n";
  CHECK(release_files(*p, out).error().message() ==
        (out / "cmdline-metal-amd64").string() +
            ": iPXE script: the kernel argument 'talos.config=${url}' holds a character iPXE would not pass on as written ($, a "
            "quote, a backslash or a control character)");
  std::filesystem::remove(out / "kernel-amd64");
  CHECK(release_files(*p, out).error().kind() == ErrorKind::not_found);
}

TEST_CASE("iPXE script: relative names, the initrd named on the kernel line, nothing iPXE would rewrite") {
  auto script = ipxe_script(IpxeBoot{"Talos v1.13.0 for amd64", "vmlinuz-amd64", "initramfs-amd64.xz",
                                     "talos.platform=metal  console=ttyS0 lockdown=integrity\n"});
  REQUIRE(script.has_value());
  CHECK(*script ==
        "#!ipxe\n"
        "# Talos v1.13.0 for amd64: the kernel, initramfs and command line published beside this script\n"
        "kernel vmlinuz-amd64 initrd=initramfs-amd64.xz talos.platform=metal console=ttyS0 lockdown=integrity\n"
        "initrd initramfs-amd64.xz\n"
        "boot\n");
  for (const char* bad : {"a=\"b c\"", "x=$y", "a\\b", "tab\there"})
    CHECK_MESSAGE(!ipxe_script(IpxeBoot{"t", "k", "i", bad}).has_value(), bad);
  CHECK(ipxe_script(IpxeBoot{"t", "https://elsewhere/k", "i", ""}).error().message() ==
        "iPXE script: 'https://elsewhere/k' is not a plain relative file name");
  CHECK(!ipxe_script(IpxeBoot{"t", "../k", "i", ""}).has_value());
}

TEST_CASE("plan: Talos 1.14's enrolment modes, its cloud profiles, and images of another Talos version") {
  auto planned = [](PlanConfig c, const std::string& version) {
    auto p = make_plan(version, c, nullptr);
    return p ? std::string("(planned)") : p.error().message();
  };
  auto args_of = [](const Plan& p, const std::string& name) {
    for (const auto& inv : p.invocations)
      if (inv.name == name) return inv.args;
    return std::vector<std::string>{};
  };
  auto has = [](const std::vector<std::string>& args, const std::vector<std::string>& words) {
    return std::search(args.begin(), args.end(), words.begin(), words.end()) != args.end();
  };
  SUBCASE("enroll_keys: --secureboot-enroll-keys on SecureBoot ISOs and disk images from 1.14, refused before") {
    PlanConfig e;
    e.outputs = {"secureboot-installer", "secureboot-iso", "iso", "secureboot-metal"};
    e.unverified_outputs = {"secureboot-metal"};
    e.enroll_keys = "force";
    auto p = make_plan("v1.14.0", e, nullptr);
    REQUIRE_MESSAGE(p.has_value(), p.error().message());
    CHECK(has(args_of(*p, "secureboot-iso-amd64"), {"--secureboot-enroll-keys", "force"}));
    CHECK(has(args_of(*p, "secureboot-metal-amd64"), {"--secureboot-enroll-keys", "force"}));
    for (const char* name : {"secureboot-installer-amd64", "iso-amd64", "pxe-uki-amd64"})
      CHECK_MESSAGE(!has(args_of(*p, name), {"--secureboot-enroll-keys"}), name);
    CHECK(planned(e, "v1.13.9") ==
          "enroll_keys: imager's --secureboot-enroll-keys exists from Talos 1.14; this plan builds v1.13.9 (remove "
          "enroll_keys, or build Talos 1.14 or later)");
    e.talos_version = "v1.13.0";
    CHECK(planned(e, "build-7")
              .starts_with("enroll_keys: imager's --secureboot-enroll-keys exists from Talos 1.14; this "
                           "plan builds v1.13.0"));
    e.talos_version.clear();
    e.enroll_keys = "always";
    CHECK(planned(e, "v1.14.0") == "enroll_keys: 'always' is not one of off, manual, if-safe, force");
    PlanConfig none;  // unset: no flag, imager's default
    auto d = make_plan("v1.14.0", none, nullptr);
    REQUIRE(d.has_value());
    CHECK_FALSE(has(args_of(*d, "secureboot-iso-amd64"), {"--secureboot-enroll-keys"}));
  }
  SUBCASE("imager 1.14's cloud profiles and metal-4k are named as outside the bare-metal scope") {
    for (const char* profile : {"secureboot-azure", "secureboot-cloudstack", "secureboot-nocloud", "secureboot-opennebula",
                                "secureboot-openstack", "secureboot-vmware"}) {
      PlanConfig c;
      c.outputs = {profile};
      CHECK(planned(c, "v1.14.0") ==
            "outputs: '" + std::string(profile) +
                "' is one of imager 1.14's cloud-platform SecureBoot disk images; sbpipe builds and verifies bare-metal "
                "installers and ISOs only (iso, secureboot-iso, installer, secureboot-installer, metal, secureboot-metal): "
                "docs/talos-versions.md");
    }
    PlanConfig m;
    m.outputs = {"metal-4k"};
    CHECK(planned(m, "v1.14.0").starts_with("outputs: 'metal-4k' is one of imager 1.14's disk images with 4096-byte sectors;"));
    m.outputs = {"aws"};
    CHECK(planned(m, "v1.14.0").starts_with("outputs: unknown output 'aws'"));
  }
  SUBCASE("imager and base installer images tagged with another Talos version are refused before imager runs") {
    PlanConfig v;
    v.imager_image = "ghcr.io/siderolabs/imager:v1.13.9";
    CHECK(planned(v, "v1.14.0") ==
          "imager.image: ghcr.io/siderolabs/imager:v1.13.9 is Talos v1.13.9, but this plan builds v1.14.0; imager, base "
          "installer and release must be one Talos version (siderolabs/talos#9482): use {version} in the image, or set "
          "imager.talos_version to the version it builds");
    v.imager_image = "ghcr.io/siderolabs/imager:{version}";
    v.base_installer_image = "ghcr.io/siderolabs/installer-base:v1.14.0-alpha.2";
    CHECK(planned(v, "v1.14.0")
              .starts_with("imager.base_installer_image: ghcr.io/siderolabs/installer-base:v1.14.0-alpha.2 "
                           "is Talos v1.14.0-alpha.2, but this plan builds v1.14.0"));
    v.base_installer_image = "ghcr.io/siderolabs/installer-base:1.14.0";  // the same version without "v"
    CHECK(planned(v, "v1.14.0") == "(planned)");
    v.base_installer_image = "ghcr.io/me/installer-base:main";  // no version to compare: verify's VERSION_ID check remains
    CHECK(planned(v, "v1.14.0") == "(planned)");
    v.imager_image = "ghcr.io/me/imager:v1.14.0";
    CHECK(planned(v, "build-42") == "(planned)");  // neither the tag nor talos_version is a Talos version
    v.talos_version = "v1.14.1";
    CHECK(planned(v, "build-42")
              .starts_with("imager.image: ghcr.io/me/imager:v1.14.0 is Talos v1.14.0, but this plan "
                           "builds v1.14.1"));
  }
}

}  // TEST_SUITE("unit")
}  // namespace sbpipe

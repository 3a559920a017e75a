#include "plan/plan.h"

#include <algorithm>
#include <cctype>
#include <regex>
#include <set>

#include "plan/image_versions.h"
#include "plan/talos_version.h"
#include "release/checksums.h"
#include "secureboot/kernel_cmdline.h"

namespace sbpipe {
namespace {

struct Profile {
  std::string_view name;
  OutputKind kind;
  bool secureboot;
};

// imager's built-in profiles for bare metal (pkg/imager/profile/default.go).
constexpr Profile k_profiles[] = {
    {"iso", OutputKind::iso, false},
    {"secureboot-iso", OutputKind::iso, true},
    {"installer", OutputKind::installer, false},
    {"secureboot-installer", OutputKind::installer, true},
    {"metal", OutputKind::image, false},
    {"secureboot-metal", OutputKind::image, true},
};

const Profile* find_profile(std::string_view name) {
  for (const auto& p : k_profiles)
    if (p.name == name) return &p;
  return nullptr;
}

// imager 1.14's profiles beyond bare metal (v1.14.0-rc.1 pkg/imager/profile/
// default.go): cloud platforms' SecureBoot disk images, and metal disk images
// with 4096-byte sectors. sbpipe builds and gates bare-metal installers and
// ISOs; those are disk images for other platforms, outside its scope.
constexpr std::string_view k_out_of_scope[] = {"secureboot-azure",
                                               "secureboot-cloudstack",
                                               "secureboot-nocloud",
                                               "secureboot-opennebula",
                                               "secureboot-openstack",
                                               "secureboot-vmware",
                                               "metal-4k"};

// systemd-boot's secure-boot-enroll values (profile.SDBootEnrollKeys).
constexpr std::string_view k_enroll_modes[] = {"off", "manual", "if-safe", "force"};

}  // namespace

std::vector<std::string> plan_output_names() {
  std::vector<std::string> names;
  for (const auto& p : k_profiles) names.emplace_back(p.name);
  return names;
}

std::vector<std::string> plan_architectures() { return {"amd64", "arm64"}; }

std::string_view output_kind_name(OutputKind kind) {
  switch (kind) {
  case OutputKind::installer: return "installer";
  case OutputKind::iso: return "iso";
  case OutputKind::image: return "image";
  case OutputKind::kernel: return "kernel";
  case OutputKind::initramfs: return "initramfs";
  case OutputKind::cmdline: return "cmdline";
  case OutputKind::uki: return "uki";
  }
  return "installer";
}

std::string_view asset_source_name(AssetSource source) {
  switch (source) {
  case AssetSource::imager: return "imager";
  case AssetSource::generated: return "generated";
  }
  return "imager";
}

std::string_view generator_name(Generator generator) {
  switch (generator) {
  case Generator::none: return "";
  case Generator::ipxe_script: return "ipxe-script";
  case Generator::checksums: return "checksums";
  }
  return "";
}

namespace {

std::string replace_version(std::string text, const std::string& version) {
  const std::string key = "{version}";
  for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at + version.size()))
    text.replace(at, key.size(), version);
  return text;
}

std::unexpected<Error> config_error(const std::string& message) { return fail(ErrorKind::config, message); }

// Where imager writes each output kind: Profile.OutputPath
// (siderolabs/talos pkg/imager/profile/profile.go); disk images are
// zstd-compressed since 1.8 (pkg/imager/post.go, OutFormatZSTD).
std::string output_file(const Profile& p, const std::string& arch) {
  std::string suffix = p.secureboot ? "-secureboot" : "";
  if (p.kind == OutputKind::installer) return "installer-" + arch + suffix + ".tar";
  if (p.kind == OutputKind::iso) return "metal-" + arch + suffix + ".iso";
  return "metal-" + arch + suffix + ".raw.zst";
}

Status check_kernel_args(const std::vector<std::string>& args, const char* key) {
  for (const auto& a : args) {
    if (a.empty() || std::any_of(a.begin(), a.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); }))
      return config_error(std::string(key) + ": '" + a + "' must be one word (no spaces); give each argument separately");
    if (auto problem = kernel_arg_problem(a); !problem.empty())
      return config_error(std::string(key) + ": '" + a + "' " + problem);
  }
  return {};
}

// imager parses a META key with strconv.ParseUint(key, 0, 8) (pkg/imager/
// profile, META customization): 0-255, with 0x, 0o and 0b prefixes, and a
// leading 0 meaning octal.
bool valid_meta_key(std::string_view key) {
  int base = 10;
  if (key.size() > 2 && key[0] == '0' &&
      (key[1] == 'x' || key[1] == 'X' || key[1] == 'o' || key[1] == 'O' || key[1] == 'b' || key[1] == 'B')) {
    base = (key[1] | 0x20) == 'x' ? 16 : (key[1] | 0x20) == 'o' ? 8 : 2;
    key.remove_prefix(2);
  } else if (key.size() > 1 && key[0] == '0') {
    base = 8;
    key.remove_prefix(1);
  }
  if (key.empty() || key.size() > 8) return false;
  unsigned value = 0;
  for (char c : key) {
    int d = std::isdigit(static_cast<unsigned char>(c))    ? c - '0'
            : std::isxdigit(static_cast<unsigned char>(c)) ? (c | 0x20) - 'a' + 10
                                                           : 99;
    if (d >= base) return false;
    value = value * base + static_cast<unsigned>(d);
  }
  return value <= 255;
}

// (major, minor) of a Talos version "v1.10.2" (plan/talos_version.h's
// form); nullopt when it is none (imager's quirks then assume the newest
// Talos).
std::optional<std::pair<int, int>> talos_minor(const std::string& version) {
  auto v = parse_talos_version(version, "version");
  if (!v) return std::nullopt;
  return std::pair{v->major, v->minor};
}

// Parses an image reference of the config and pins it when asked.
Result<std::string> image_for(const std::string& text, const char* what, const DigestResolver* resolver) {
  auto ref = ImageRef::parse(text, what);
  if (!ref) return config_error(ref.error().message());
  if (resolver == nullptr || !ref->digest.empty()) return ref->str();
  auto digest = (*resolver)(*ref);
  if (!digest) return fail(digest.error().with_context(std::string(what) + " " + ref->str() + ": cannot pin to a digest"));
  ref->digest = *digest;
  return ref->str();
}

// What the plan publishes of one imager invocation: the SecureBoot
// installers go to the registry, every other output is a release asset;
// every SecureBoot output passes the gate first, but a disk image listed
// in unverified_outputs (verify cannot look inside).
void publish_output(Publication& publish, const ImagerInvocation& inv, std::string asset_name, bool verified) {
  if (inv.secureboot && verified) publish.gate.push_back(inv.output_file);
  if (inv.kind == OutputKind::installer) {
    if (inv.secureboot) publish.installer.push_back(inv.output_file);
    return;
  }
  publish.assets.push_back(PlannedAsset{.name = std::move(asset_name),
                                        .source = AssetSource::imager,
                                        .file = inv.output_file,
                                        .generator = Generator::none,
                                        .arch = inv.arch,
                                        .verified = verified,
                                        .inputs = {}});
}

// imager's own network-boot outputs (siderolabs/talos pkg/imager/profile/
// profile.go OutputPath and Validate; docs boot-assets.md): `iso
// --output-kind kernel|initramfs|cmdline`, published under the names of
// Talos's own release assets (vmlinuz-<arch>, initramfs-<arch>.xz); and for
// SecureBoot the UKI (`secureboot-metal-uki` from 1.10, `secureboot-iso
// --output-kind uki` before), which PXE firmware boots directly.
void add_network_boot(Plan& plan, const PlanConfig& config, const std::string& imager, const std::vector<std::string>& extensions,
                      bool before_1_10) {
  bool secureboot =
      std::any_of(config.outputs.begin(), config.outputs.end(), [](const std::string& o) { return find_profile(o)->secureboot; });
  for (const auto& arch : config.architectures) {
    auto add = [&](OutputKind kind, std::string file, std::string asset, std::vector<std::string> profile_args, bool signed_uki) {
      ImagerInvocation inv;
      inv.name = "pxe-" + std::string(output_kind_name(kind)) + "-" + arch;
      inv.profile = profile_args.front();
      inv.arch = arch;
      inv.secureboot = signed_uki;
      inv.kind = kind;
      inv.image = imager;
      inv.output_file = std::move(file);
      inv.args = profile_args;
      inv.args.insert(inv.args.begin() + 1, {"--arch", arch, "--output", "/out"});
      for (const auto& x : extensions) inv.args.insert(inv.args.end(), {"--system-extension-image", x});
      std::vector<std::string> kernel_args;
      if (signed_uki) kernel_args = config.secureboot_kernel_args;
      if (kind == OutputKind::cmdline || kind == OutputKind::uki)
        kernel_args.insert(kernel_args.end(), config.extra_kernel_args.begin(), config.extra_kernel_args.end());
      for (const auto& k : kernel_args) inv.args.insert(inv.args.end(), {"--extra-kernel-arg", k});
      if (kind == OutputKind::cmdline || kind == OutputKind::uki)
        for (const auto& m : config.meta) inv.args.insert(inv.args.end(), {"--meta", m});
      publish_output(plan.publish, inv, std::move(asset), true);
      plan.invocations.push_back(std::move(inv));
    };
    add(OutputKind::kernel, "kernel-" + arch, "vmlinuz-" + arch, {"iso", "--output-kind", "kernel"}, false);
    add(OutputKind::initramfs, "initramfs-metal-" + arch + ".xz", "initramfs-" + arch + ".xz",
        {"iso", "--output-kind", "initramfs"}, false);
    add(OutputKind::cmdline, "cmdline-metal-" + arch, "cmdline-metal-" + arch, {"iso", "--output-kind", "cmdline"}, false);
    if (secureboot) {
      std::string file = "metal-" + arch + "-secureboot-uki.efi";
      if (before_1_10)
        add(OutputKind::uki, file, file, {"secureboot-iso", "--output-kind", "uki"}, true);
      else
        add(OutputKind::uki, file, file, {"secureboot-metal-uki"}, true);
    }
    // An iPXE script that boots the three files above, named relative to
    // the script's own URL (release/ipxe.h).
    PlannedAsset script{.name = "metal-" + arch + ".ipxe",
                        .source = AssetSource::generated,
                        .generator = Generator::ipxe_script,
                        .arch = arch,
                        .inputs = {"vmlinuz-" + arch, "initramfs-" + arch + ".xz", "cmdline-metal-" + arch}};
    plan.publish.assets.push_back(std::move(script));
  }
}

}  // namespace

namespace {

// What imager would refuse of the config whatever the version: unknown or
// repeated outputs and architectures, kernel args and META it cannot take,
// unverified_outputs naming what can be verified.
Status check_plan_config(const PlanConfig& config) {
  if (config.outputs.empty()) return config_error("outputs: at least one output is needed");
  if (config.architectures.empty()) return config_error("architectures: at least one architecture is needed");
  std::set<std::string> seen;
  for (const auto& o : config.outputs) {
    if (std::find(std::begin(k_out_of_scope), std::end(k_out_of_scope), o) != std::end(k_out_of_scope))
      return config_error("outputs: '" + o + "' is one of imager 1.14's " +
                          (o == "metal-4k" ? std::string("disk images with 4096-byte sectors")
                                           : std::string("cloud-platform SecureBoot disk images")) +
                          "; sbpipe builds and verifies bare-metal installers and ISOs only (iso, secureboot-iso, installer, "
                          "secureboot-installer, metal, secureboot-metal): docs/talos-versions.md");
    if (find_profile(o) == nullptr)
      return config_error("outputs: unknown output '" + o +
                          "' (iso, secureboot-iso, installer, secureboot-installer, metal, secureboot-metal)");
    if (!seen.insert(o).second) return config_error("outputs: '" + o + "' is listed twice");
  }
  seen.clear();
  for (const auto& a : config.architectures) {
    if (a != "amd64" && a != "arm64") return config_error("architectures: unknown architecture '" + a + "' (amd64, arm64)");
    if (!seen.insert(a).second) return config_error("architectures: '" + a + "' is listed twice");
  }
  if (auto st = check_kernel_args(config.extra_kernel_args, "extra_kernel_args"); !st) return st;
  if (auto st = check_kernel_args(config.secureboot_kernel_args, "secureboot_kernel_args"); !st) return st;
  for (const auto& m : config.meta) {
    auto eq = m.find('=');
    if (eq == std::string::npos || !valid_meta_key(std::string_view(m).substr(0, eq)))
      return config_error("meta: '" + m + "' is not KEY=VALUE with a key of 0-255 (e.g. 0xa=..., 10=...)");
  }
  for (const auto& o : config.unverified_outputs) {
    if (std::find(config.outputs.begin(), config.outputs.end(), o) == config.outputs.end())
      return config_error("unverified_outputs: '" + o + "' is not one of the outputs");
    if (find_profile(o)->kind != OutputKind::image)
      return config_error("unverified_outputs: '" + o + "' can be verified; only disk images may be listed");
  }
  return {};
}

// The images imager runs and reads, with {version} replaced, pinned by the resolver when given.
struct PlanImages {
  std::string imager;
  std::string base_installer;  // empty: imager's default
  std::vector<std::string> extensions;
};

Result<PlanImages> plan_images(const std::string& version, const PlanConfig& config, const DigestResolver* resolver) {
  PlanImages images;
  auto imager = image_for(replace_version(config.imager_image, version), "imager image", resolver);
  if (!imager) return fail(imager.error());
  images.imager = *imager;
  if (!config.base_installer_image.empty()) {
    auto b = image_for(replace_version(config.base_installer_image, version), "base installer image", resolver);
    if (!b) return fail(b.error());
    images.base_installer = *b;
  }
  for (const auto& e : config.system_extensions) {
    auto x = image_for(replace_version(e, version), "system extension", resolver);
    if (!x) return fail(x.error());
    images.extensions.push_back(*x);
  }
  return images;
}

// One configured output, for every architecture: its invocations and what
// the release publishes of them. config error for what imager's profile
// validation (Profile.Validate) would refuse of it.
Status add_output(Plan& plan, const std::string& output, const PlanConfig& config, const PlanImages& images, bool before_1_10) {
  const Profile& p = *find_profile(output);
  std::vector<std::string> kernel_args;
  if (p.secureboot) kernel_args = config.secureboot_kernel_args;
  kernel_args.insert(kernel_args.end(), config.extra_kernel_args.begin(), config.extra_kernel_args.end());
  // The plain installer carries no UKI, hence no cmdline, before 1.10.
  if (p.kind == OutputKind::installer && !p.secureboot && !kernel_args.empty() && before_1_10)
    return config_error("extra_kernel_args: imager refuses kernel args for the '" + output +
                        "' output before Talos 1.10 (only SecureBoot installers carry a cmdline)");
  bool unverified =
      std::find(config.unverified_outputs.begin(), config.unverified_outputs.end(), output) != config.unverified_outputs.end();
  if (p.kind == OutputKind::image && !unverified)
    return config_error("outputs: '" + output +
                        "' is a disk image, which verify cannot look inside, so it would be published "
                        "unchecked; list it under imager.unverified_outputs to publish it anyway (marked unverified)");
  if (p.kind == OutputKind::installer && !config.meta.empty())
    return config_error("meta: imager refuses META values for the '" + output + "' output");
  for (const auto& arch : config.architectures) {
    ImagerInvocation inv;
    inv.name = output + "-" + arch;
    inv.profile = output;
    inv.arch = arch;
    inv.secureboot = p.secureboot;
    inv.kind = p.kind;
    inv.image = images.imager;
    inv.output_file = output_file(p, arch);
    inv.args = {output, "--arch", arch, "--output", "/out"};
    if (p.kind == OutputKind::installer && !images.base_installer.empty())
      inv.args.insert(inv.args.end(), {"--base-installer-image", images.base_installer});
    for (const auto& x : images.extensions) inv.args.insert(inv.args.end(), {"--system-extension-image", x});
    for (const auto& k : kernel_args) inv.args.insert(inv.args.end(), {"--extra-kernel-arg", k});
    if (p.kind != OutputKind::installer)
      for (const auto& m : config.meta) inv.args.insert(inv.args.end(), {"--meta", m});
    if (p.secureboot && p.kind != OutputKind::installer && config.secureboot_include_well_known_certs)
      inv.args.push_back("--secureboot-include-well-known-certs");
    // The enrolment mode is written into the ISO's (and disk image's) loader.conf; installers have none.
    if (p.secureboot && p.kind != OutputKind::installer && !config.enroll_keys.empty())
      inv.args.insert(inv.args.end(), {"--secureboot-enroll-keys", config.enroll_keys});
    publish_output(plan.publish, inv, inv.output_file, !unverified);
    plan.invocations.push_back(std::move(inv));
  }
  return {};
}

}  // namespace

Result<Plan> make_plan(const std::string& version, const PlanConfig& config, const DigestResolver* resolver) {
  if (!is_valid_tag(version)) return fail(ErrorKind::usage, "--tag '" + version + "': not a valid image tag");
  if (auto st = check_plan_config(config); !st) return fail(st.error());
  auto talos = talos_minor(config.talos_version.empty() ? version : config.talos_version);
  if (!config.talos_version.empty() && !talos)
    return config_error(supported_talos_version(config.talos_version, "talos_version").error().message());
  bool before_1_10 = talos && *talos < std::pair{1, 10};
  if (!config.enroll_keys.empty()) {
    if (std::find(std::begin(k_enroll_modes), std::end(k_enroll_modes), config.enroll_keys) == std::end(k_enroll_modes))
      return config_error("enroll_keys: '" + config.enroll_keys + "' is not one of off, manual, if-safe, force");
    // imager has --secureboot-enroll-keys from 1.14 (cmd/installer/cmd/imager/root.go at v1.14.0-rc.1);
    // an older imager stops at the unknown flag.
    if (talos && *talos < std::pair{1, 14})
      return config_error("enroll_keys: imager's --secureboot-enroll-keys exists from Talos 1.14; this plan builds " +
                          (config.talos_version.empty() ? version : config.talos_version) +
                          " (remove enroll_keys, or build Talos 1.14 or later)");
  }

  // The images that will build this release must be of its Talos version
  // (nothing to compare with when neither the tag nor talos_version is one).
  const std::string built = config.talos_version.empty() ? version : config.talos_version;
  if (talos) {
    if (auto st = check_image_version(replace_version(config.imager_image, version), "imager.image", built); !st)
      return fail(st.error());
    if (!config.base_installer_image.empty())
      if (auto st =
              check_image_version(replace_version(config.base_installer_image, version), "imager.base_installer_image", built);
          !st)
        return fail(st.error());
  }

  auto images = plan_images(version, config, resolver);
  if (!images) return fail(images.error());
  Plan plan;
  plan.version = version;
  plan.inputs.push_back({"imager image", images->imager});
  if (!images->base_installer.empty()) plan.inputs.push_back({"base installer image", images->base_installer});
  for (const auto& x : images->extensions) plan.inputs.push_back({"system extension", x});
  for (const auto& output : config.outputs)
    if (auto st = add_output(plan, output, config, *images, before_1_10); !st) return fail(st.error());
  if (config.pxe) add_network_boot(plan, config, images->imager, images->extensions, before_1_10);
  // The listings, written last over every asset of the release (release/publish.h).
  for (std::string_view listing : {k_sha512_sums, k_sha256_sums})
    plan.publish.assets.push_back(
        PlannedAsset{.name = std::string(listing), .source = AssetSource::generated, .generator = Generator::checksums});
  return plan;
}

std::string shell_quote(std::string_view word) {
  static const std::regex k_safe(R"([A-Za-z0-9_./:=@,+%-]+)");
  if (!word.empty() && std::regex_match(word.begin(), word.end(), k_safe)) return std::string(word);
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string plan_shell(const Plan& plan, const ShellOptions& options) {
  std::string out_dir = options.out_dir.empty() ? "\"$PWD/_out\"" : shell_quote(options.out_dir);
  std::string keys_dir = options.keys_dir.empty() ? "\"$PWD/secureboot\"" : shell_quote(options.keys_dir);
  auto mount = [](const std::string& dir, const char* target) {
    // A quoted directory stays quoted; the mount target is appended inside.
    if (dir.size() >= 2 && (dir.back() == '"' || dir.back() == '\'')) return dir.substr(0, dir.size() - 1) + target + dir.back();
    return dir + target;
  };
  std::string text;
  for (const auto& inv : plan.invocations) {
    text += "# " + inv.name + " -> " + inv.output_file + "\n";
    text += shell_quote(options.engine) + " run --rm -t -v " + mount(out_dir, ":/out");
    if (inv.secureboot) text += " -v " + mount(keys_dir, ":/secureboot:ro");
    text += " " + shell_quote(inv.image);
    for (const auto& a : inv.args) text += " " + shell_quote(a);
    text += "\n";
  }
  return text;
}

}  // namespace sbpipe

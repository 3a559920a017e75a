#pragma once
// The release plan, the one description of a release: the imager
// invocations that build one version, the files the gate checks, the
// installer pushed to the registry and every release asset (an imager
// output, or a file generated from the plan). `sbpipe plan` prints it;
// `run` and the Argo template both build and publish from it, so they
// publish the same set. Made from the configuration and checked against
// what imager itself would refuse (so a bad combination fails here, before
// a pod starts). Pure logic: reading the config file and resolving digests
// happen through the seams below.

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/config_keys.h"
#include "oci/reference.h"
#include "sigstore/image_rules.h"

namespace sbpipe {

struct PlanConfig {
  std::string imager_image = "ghcr.io/siderolabs/imager:{version}";  // {version} is replaced
  std::vector<std::string> outputs{"secureboot-installer", "secureboot-iso", "iso"};
  std::vector<std::string> architectures{"amd64"};
  std::string base_installer_image;  // optional; {version} is replaced
  std::vector<std::string> system_extensions;
  std::vector<std::string> extra_kernel_args;  // every output that takes kernel args
  std::vector<std::string> secureboot_kernel_args{"-lockdown", "lockdown=integrity"};
  std::vector<std::string> meta;  // KEY=VALUE for the META partition (ISO and disk images)
  // The Talos version built, for the rules that differ between versions;
  // empty: the release tag (a tag that is no Talos version means the newest).
  std::string talos_version;
  // Machines whose option ROMs are signed by Microsoft need Microsoft's
  // certificates in db next to the owner's (--secureboot-include-well-known-certs).
  bool secureboot_include_well_known_certs = false;
  // How systemd-boot enrols the ISO's keys on first boot: off, manual,
  // if-safe or force (--secureboot-enroll-keys, Talos 1.14+; `force` for
  // unattended bare-metal provisioning from setup mode). Empty: imager's
  // default (if-safe), and no flag.
  std::string enroll_keys;
  // Outputs verify cannot look inside (disk images) that may be published
  // anyway, marked unverified.
  std::vector<std::string> unverified_outputs;
  // Network-boot assets from imager itself, per architecture: the kernel,
  // the initramfs and the cmdline (never signed: imager refuses SecureBoot,
  // kernel args and META on kernel and initramfs), and, when the plan has
  // SecureBoot outputs, the signed UKI to boot with SecureBoot enforcing.
  bool pxe = true;
  // How the inputs (imager, base installer, extensions) are checked once
  // pinned: rules with Talos's ImageVerificationConfig field names
  // (sigstore/image_rules.h, sigstore/input_verification.h).
  ImageVerificationRules image_verification;
};

// Parses the `imager:` section of an sbpipe YAML config. config error naming
// the file and key for unknown keys or wrong types.
Result<PlanConfig> parse_plan_config(std::string_view yaml, std::string_view label);
Result<PlanConfig> load_plan_config(const std::filesystem::path& path);
// The keys parse_plan_config reads, for the whole file's check (pipeline/config_check.h).
ConfigSection plan_config_section();

// imager's output profiles a plan accepts (iso, secureboot-iso, installer,
// ...), and the architectures (amd64, arm64): for `config check`'s
// suggestions.
std::vector<std::string> plan_output_names();
std::vector<std::string> plan_architectures();

// What an invocation makes: imager's output kind (its profile's, or for
// network boot its --output-kind).
enum class OutputKind { installer, iso, image, kernel, initramfs, cmdline, uki };
// "installer", "iso", "image", "kernel", "initramfs", "cmdline", "uki": the plan JSON's "kind".
std::string_view output_kind_name(OutputKind kind);

struct ImagerInvocation {
  std::string name;     // "secureboot-installer-amd64": unique within a plan
  std::string profile;  // imager's profile argument
  std::string arch;
  bool secureboot = false;
  OutputKind kind = OutputKind::installer;
  std::string image;  // the imager image to run
  std::vector<std::string> args;
  std::string output_file;  // what imager writes into its output directory
};

// Where a release asset comes from.
enum class AssetSource { imager, generated };
// "imager", "generated": the plan JSON's "source".
std::string_view asset_source_name(AssetSource source);

// What makes a generated asset.
enum class Generator {
  none,         // an imager output
  ipxe_script,  // metal-<arch>.ipxe: boots the published kernel, initramfs and cmdline
  checksums,    // sha256sum.txt, sha512sum.txt: written over the whole release by publishing
};
// "", "ipxe-script", "checksums": the plan JSON's "generator".
std::string_view generator_name(Generator generator);

struct PlannedAsset {
  std::string name;  // the release asset's name
  AssetSource source = AssetSource::imager;
  std::string file;  // imager: the output file it is published from
  Generator generator = Generator::none;
  std::string arch;                 // the architecture it belongs to; empty for the listings
  bool verified = true;             // imager: false for a disk image published unverified (unverified_outputs)
  std::vector<std::string> inputs;  // generated: the assets it is made from (the iPXE script's kernel, initrd, cmdline)
};

// What one release publishes, and what must pass the gate first.
struct Publication {
  // imager outputs pushed to the registry as the installer (one per
  // architecture: several make an OCI image index). Empty: no push.
  std::vector<std::string> installer;
  // imager outputs verify checks before anything is published: every
  // SecureBoot output but a disk image listed in unverified_outputs.
  std::vector<std::string> gate;
  // Every release asset, in publishing order; the listings last.
  std::vector<PlannedAsset> assets;
};

// An image the build feeds imager, as the plan names it (pinned when the
// plan was made with a resolver).
struct PlanInput {
  std::string role;  // "imager image", "base installer image", "system extension"
  std::string ref;
};

struct Plan {
  std::string version;
  std::vector<ImagerInvocation> invocations;
  Publication publish;
  std::vector<PlanInput> inputs;
};

// Resolves a tagged image to "sha256:<hex>". not_found when the tag does not exist.
using DigestResolver = std::function<Result<std::string>(const ImageRef&)>;

// Builds the plan. usage error for a bad version; config error for an
// unknown output or architecture (imager's cloud profiles and metal-4k are
// named as outside sbpipe's bare-metal scope), a malformed image reference,
// an imager or base installer image tagged with another Talos version
// (image_versions.h), kernel args or META on an output imager refuses them
// for (by Talos version), enroll_keys before Talos 1.14 or not one of its
// modes, a kernel argument the kernel would read differently (quotes, NUL,
// "--"), or a disk image not listed in unverified_outputs. With `resolver`, every
// image named by tag is pinned to its digest, and any that cannot be
// resolved fails the plan.
Result<Plan> make_plan(const std::string& version, const PlanConfig& config, const DigestResolver* resolver);

// JSON: {"version": V, "invocations": [...], "publish": {"installer": [...],
// "gate": [...], "assets": [...]}, "inputs": [{"role", "ref"}]}; Argo fans
// out over "invocations" with withParam, and its steps read the whole plan
// from a file.
std::string plan_json(const Plan& plan);

// The plan back from plan_json's text (or `sbpipe plan -o json`'s, whose
// "schemaVersion" 1 is accepted). invalid_input naming `label` and the field
// for anything that is not a plan: a missing or mistyped field, an unknown
// kind, source or generator, a publication naming a file no invocation makes.
Result<Plan> parse_plan_json(std::string_view text, std::string_view label);
// The same from a file (at most 1 MiB); not_found/io naming the file.
Result<Plan> load_plan(const std::filesystem::path& path);

// Only the invocations, as a JSON array: what Argo's withParam iterates
// over (each item's "args" array reaches the imager container through
// podSpecPatch).
std::string plan_items_json(const Plan& plan);

struct ShellOptions {
  std::string engine = "docker";
  std::string out_dir;   // empty: "$PWD/_out"
  std::string keys_dir;  // empty: "$PWD/secureboot"
};
// One paste-able `docker run` line per invocation, with a comment above it.
std::string plan_shell(const Plan& plan, const ShellOptions& options);

// Quotes a word for POSIX sh when it holds anything but safe characters.
std::string shell_quote(std::string_view word);

}  // namespace sbpipe

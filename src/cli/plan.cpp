// sbpipe plan --tag V [--config F] [--format json|argo|shell] [--pin-digests] [--save PLAN]

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "cli/output.h"
#include "cli/registry_flags.h"
#include "core/file.h"
#include "oci/credentials.h"
#include "oci/session.h"
#include "pipeline/config_check.h"
#include "pipeline/steps.h"
#include "plan/plan.h"
#include "plan/talos_version.h"
#include "sigstore/input_verification.h"

namespace sbpipe {
namespace {

struct PlanFlags {
  std::string version;
  std::string config;
  std::string format = "json";
  bool pin_digests = false;
  std::string save;
  bool plain_http = false;
  std::string ca_file;
  RegistryAccess access;  // --authfile, --insecure
  std::string imager_image;
  std::vector<std::string> outputs;
  std::vector<std::string> architectures;
  std::string base_installer_image;
  std::vector<std::string> system_extensions;
  std::vector<std::string> extra_kernel_args;
  std::string engine = "docker";
  std::string out_dir;
  std::string keys_dir;
};

// Resolves tags through the registry API (anonymous, or the credentials
// push-installer would use for that registry).
Result<std::string> resolve_digest(const ImageRef& ref, const PlanFlags& flags) {
  RegistryAccess access = flags.access;
  access.plain_http = flags.plain_http;
  access.ca_file = flags.ca_file;
  return resolve_image_digest(ref, access);
}

Status run_plan(const PlanFlags& flags) {
  if (auto st = check_choice("--format", flags.format, {"json", "yaml", "argo", "shell"}); !st) return st;
  PlanConfig config;
  if (!flags.config.empty()) {
    if (auto st = check_config_file(flags.config); !st) return st;
    auto loaded = load_plan_config(flags.config);
    if (!loaded) return fail(loaded.error());
    config = std::move(*loaded);
  }
  // The version before anything else: "latest" or "1.12.4" builds nothing.
  if (auto st = check_release_tag(flags.version, config.talos_version); !st) return st;
  // Flags override the config file.
  if (!flags.imager_image.empty()) config.imager_image = flags.imager_image;
  if (!flags.outputs.empty()) config.outputs = flags.outputs;
  if (!flags.architectures.empty()) config.architectures = flags.architectures;
  if (!flags.base_installer_image.empty()) config.base_installer_image = flags.base_installer_image;
  if (!flags.system_extensions.empty()) config.system_extensions = flags.system_extensions;
  if (!flags.extra_kernel_args.empty()) config.extra_kernel_args = flags.extra_kernel_args;

  DigestResolver resolver = [&flags](const ImageRef& ref) { return resolve_digest(ref, flags); };
  auto plan = make_plan(flags.version, config, flags.pin_digests ? &resolver : nullptr);
  if (!plan) return fail(plan.error());
  // Pinned inputs are checked against the rules before anything runs them.
  if (flags.pin_digests) {
    RegistryAccess access = flags.access;
    access.plain_http = flags.plain_http;
    access.ca_file = flags.ca_file;
    if (auto st = check_plan_inputs(*plan, config.image_verification, access); !st) return st;
  }
  // The whole plan, for the steps that take --plan (the Argo template's
  // verify, push-installer and upload-assets), written before anything is
  // printed: a step never reads a plan other than the one printed.
  if (!flags.save.empty())
    if (auto st = write_file_atomically(flags.save, plan_json(*plan) + "\n"); !st) return fail(st.error().with_context("--save"));
  if (flags.format == "json" || flags.format == "yaml") {
    print_structured_result(flags.format, nlohmann::json::parse(plan_json(*plan)));
  } else if (flags.format == "argo") {
    print_result_line(plan_items_json(*plan));
  } else {
    std::string text = plan_shell(*plan, ShellOptions{flags.engine, flags.out_dir, flags.keys_dir});
    print_result_text(text);
  }
  return {};
}

}  // namespace

void add_plan(CLI::App& app, CommandAction& action) {
  auto flags = std::make_shared<PlanFlags>();
  CLI::App* cmd = app.add_subcommand("plan", "Print the imager invocations that build one version");
  cmd->add_option("--tag", flags->version, "Talos version (the release tag): vMAJOR.MINOR.PATCH[-PRE], e.g. v1.12.4")->required();
  cmd->add_option("--config", flags->config, "sbpipe YAML config; its imager: section is read");
  add_format_flag(*cmd, flags->format, {"json", "yaml", "argo", "shell"},
                  "json, yaml, argo (the invocations alone: a JSON array for withParam) or shell (to paste)");
  cmd->add_option("--save", flags->save,
                  "Also write the whole plan (JSON) to this file, for verify, push-installer and upload-assets --plan");
  cmd->add_flag("--pin-digests", flags->pin_digests, "Resolve every tagged image to its digest through the registry");
  cmd->add_flag("--plain-http", flags->plain_http, "Reach registries over HTTP when pinning (loopback tests)");
  cmd->add_option("--ca-file", flags->ca_file, "Extra CA bundle for registries when pinning");
  add_registry_access_flags(*cmd, flags->access);
  cmd->add_option("--imager-image", flags->imager_image,
                  "imager image; {version} is replaced (default ghcr.io/siderolabs/imager:{version})");
  cmd->add_option("--output", flags->outputs, "imager output profile (repeatable; replaces the config's list)");
  cmd->add_option("--arch", flags->architectures, "Architecture: amd64 or arm64 (repeatable)")->type_name("{amd64,arm64}");
  cmd->add_option("--base-installer-image", flags->base_installer_image, "Base installer image for installer outputs");
  cmd->add_option("--system-extension-image", flags->system_extensions, "System extension image (repeatable)");
  cmd->add_option("--extra-kernel-arg", flags->extra_kernel_args,
                  "Kernel argument for every output that takes them (repeatable)");
  cmd->add_option("--engine", flags->engine, "Container engine for --format shell")->capture_default_str();
  cmd->add_option("--out-dir", flags->out_dir, "Output directory for --format shell (default $PWD/_out)");
  cmd->add_option("--keys-dir", flags->keys_dir, "Signing-key directory for --format shell (default $PWD/secureboot)");
  cmd->callback([flags, &action] { action = [flags] { return run_plan(*flags); }; });
}

}  // namespace sbpipe

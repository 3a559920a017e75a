// sbpipe finalize --repo OWNER/NAME --tag TAG [--release-id ID] [--release-state S] [--github-api URL]
//                 [--installer-ref REF@DIGEST] [--target dir:PATH]

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "cli/output.h"
#include "cli/registry_flags.h"
#include "cli/release_target.h"
#include "pipeline/config_check.h"
#include "pipeline/steps.h"
#include "release/finalize.h"
#include "sigstore/keys.h"

namespace sbpipe {
namespace {

struct FinalizeFlags {
  ReleaseFlags release;
  std::string installer_ref;
  bool no_make_latest = false;
  std::string config;
  std::string format = "text";
  std::string registry_username;
  std::string registry_password_file;
  bool plain_http = false;
  std::string registry_ca_file;
  RegistryAccess access;  // --authfile, --insecure
  GitHubFlags github;
  std::string signing_pubkey;
};

Result<ReleaseFacts> facts_of(const FinalizeFlags& flags) {
  if (flags.config.empty()) return release_facts(flags.release.tag, flags.installer_ref, nullptr);
  if (auto st = check_config_file(flags.config); !st) return fail(st.error());
  auto config = load_plan_config(flags.config);
  if (!config) return fail(config.error());
  return release_facts(flags.release.tag, flags.installer_ref, &*config);
}

Status run_finalize(const FinalizeFlags& flags) {
  if (auto st = check_choice("--format", flags.format, {"text", "json", "yaml"}); !st) return st;
  if (!flags.installer_ref.empty())
    if (auto st = check_installer_ref(flags.installer_ref, "--installer-ref"); !st) return st;
  auto facts = facts_of(flags);
  if (!facts) return fail(facts.error());
  std::optional<PublicKey> key;
  if (!flags.signing_pubkey.empty()) {
    auto loaded = PublicKey::load(flags.signing_pubkey, "--signing-pubkey");
    if (!loaded) return fail(loaded.error());
    key = std::move(*loaded);
    facts->signing_public_key = key->pem();
    facts->signing_fingerprint = key->fingerprint();
  }
  auto opened = open_release_target(flags.release, flags.github, ForeignReleaseId::refuse);
  if (!opened) return fail(opened.error());
  RegistryAccess access = flags.access;
  access.username = flags.registry_username;
  access.plain_http = flags.plain_http;
  access.ca_file = flags.registry_ca_file;
  if (!flags.registry_password_file.empty()) access.password_file = flags.registry_password_file;

  FinalizeRequest request{opened->pin, flags.no_make_latest ? MakeLatest::no : MakeLatest::yes, *facts,
                          [access, &flags](const std::string& ref) -> Status {
                            if (auto st = check_installer(ref, access); !st) return st;
                            if (flags.signing_pubkey.empty()) return {};
                            return check_installer_signed(ref, access, flags.signing_pubkey, "--signing-pubkey");
                          },
                          key ? &*key : nullptr};
  auto result = finalize_release(*opened->target, request);
  if (!result) return fail(result.error());
  const std::string& location = result->release.location;
  nlohmann::json out{{"tag", flags.release.tag}, {"changed", result->changed}, {"release", location}};
  std::string line = std::string(result->changed ? "released " : "already released ") +
                     (!has_release_ids(opened->spec) ? location : flags.release.tag + (location.empty() ? "" : " " + location));
  if (flags.format != "text")
    print_structured_result(flags.format, out);
  else
    print_result_line(line);
  return {};
}

}  // namespace

void add_finalize(CLI::App& app, CommandAction& action) {
  auto flags = std::make_shared<FinalizeFlags>();
  CLI::App* cmd = app.add_subcommand("finalize", "Turn a pre-release into a release once every asset is in place");
  cmd->add_option("-R,--repo", flags->release.repo, "GitHub repository OWNER/NAME (not needed with a dir: target)");
  cmd->add_option("--tag", flags->release.tag, "The release's tag")->required();
  add_release_pin_flags(*cmd, flags->release);
  cmd->add_option("--installer-ref", flags->installer_ref,
                  "REGISTRY/REPO[:TAG]@sha256:<hex> that must exist in the registry; written into the notes "
                  "(default: the one the notes name from an earlier finalize)");
  cmd->add_option("--signing-pubkey", flags->signing_pubkey,
                  "Public half of the owner's signing key (push-installer and upload-assets --sign-key): the installer, "
                  "each per-arch image and every asset must carry its signature; the notes get an ImageVerificationConfig");
  cmd->add_option("--target", flags->release.target,
                  "github, or dir:PATH for a release published with upload-assets --target dir:PATH")
      ->capture_default_str();
  cmd->add_flag("--no-make-latest", flags->no_make_latest, "Do not mark the release as the repository's latest");
  cmd->add_option("--config", flags->config,
                  "sbpipe YAML config: its imager: section names the extensions and kernel arguments for the notes");
  add_format_flag(*cmd, flags->format, {"text", "json", "yaml"}, "Result on stdout");
  cmd->add_option("--registry-username", flags->registry_username,
                  "Registry user name for the installer check (with --registry-password-file)");
  cmd->add_option("--registry-password-file", flags->registry_password_file, "File holding the registry password or token");
  cmd->add_flag("--plain-http", flags->plain_http, "Reach the registry over HTTP (loopback tests, in-cluster registries)");
  cmd->add_option("--registry-ca-file", flags->registry_ca_file, "Extra CA bundle for the registry");
  add_registry_access_flags(*cmd, flags->access);
  add_github_flags(*cmd, flags->github);
  cmd->callback([flags, &action] { action = [flags] { return run_finalize(*flags); }; });
}

}  // namespace sbpipe

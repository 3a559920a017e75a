// sbpipe finalize --repo OWNER/NAME --tag TAG [--github-api URL] [--installer-ref REF@DIGEST]

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "cli/github_flags.h"
#include "cli/output.h"
#include "github/finalize.h"
#include "oci/credentials.h"
#include "oci/session.h"
#include "pipeline/dir_target.h"
#include "secureboot/plan.h"

namespace sbpipe {
namespace {

struct FinalizeFlags {
  std::string repo;
  std::string tag;
  std::string installer_ref;
  std::string target = "github";
  bool no_make_latest = false;
  std::string config;
  std::string format = "text";
  std::string registry_username;
  std::string registry_password_file;
  bool plain_http = false;
  std::string registry_ca_file;
  GitHubFlags github;
};

// The installer reference must name a manifest the registry has; with a tag
// too, the tag must still point at that digest.
Result<std::function<Status()>> installer_check(const FinalizeFlags& flags) {
  if (flags.installer_ref.empty()) return std::function<Status()>();
  auto ref = ImageRef::parse(flags.installer_ref, "--installer-ref");
  if (!ref) return fail(ref.error());
  if (ref->digest.empty())
    return fail(ErrorKind::usage, "--installer-ref '" + flags.installer_ref + "': expected REGISTRY/REPO[:TAG]@sha256:<hex>");
  CredentialSources sources{flags.registry_username, std::nullopt, process_getenv};
  if (!flags.registry_password_file.empty()) sources.password_file = flags.registry_password_file;
  auto credentials = resolve_credentials(ref->registry, sources);
  if (!credentials) return fail(credentials.error());
  SessionOptions options{flags.plain_http, flags.registry_ca_file, RetryPolicy{}};
  return std::function<Status()>([ref = *ref, credentials = *credentials, options]() -> Status {
    auto by_digest = head_image_manifest(ref, ref.digest, credentials, options);
    if (!by_digest) return fail(by_digest.error());
    if (by_digest->str() != ref.digest)
      return fail(ErrorKind::invalid_input, "registry answered " + by_digest->str() + " for " + ref.digest);
    if (!ref.tag.empty()) {
      auto by_tag = head_image_manifest(ref, ref.tag, credentials, options);
      if (!by_tag) return fail(by_tag.error());
      if (by_tag->str() != ref.digest)
        return fail(ErrorKind::invalid_input, "tag " + ref.tag + " of " + ref.registry + "/" + ref.repository + " now points at " +
                                                  by_tag->str() + ", not " + ref.digest);
    }
    return {};
  });
}

Result<ReleaseFacts> release_facts(const FinalizeFlags& flags) {
  ReleaseFacts facts;
  facts.version = flags.tag;
  facts.installer_ref = flags.installer_ref;
  if (!flags.config.empty()) {
    auto config = load_plan_config(flags.config);
    if (!config) return fail(config.error());
    facts.extensions = config->system_extensions;
    facts.kernel_args = config->secureboot_kernel_args;
    facts.kernel_args.insert(facts.kernel_args.end(), config->extra_kernel_args.begin(), config->extra_kernel_args.end());
  }
  return facts;
}

Status run_finalize(const FinalizeFlags& flags) {
  if (auto st = check_choice("--format", flags.format, {"text", "json"}); !st) return st;
  auto target = parse_publish_target(flags.target);
  if (!target) return fail(target.error());
  const auto& dir = *target;
  if (flags.tag.empty()) return fail(ErrorKind::usage, "--tag must not be empty");
  auto facts = release_facts(flags);
  if (!facts) return fail(facts.error());
  auto check = installer_check(flags);
  if (!check) return fail(check.error());

  nlohmann::json out{{"tag", flags.tag}};
  std::string line;
  if (dir) {
    if (*check) {
      if (auto st = (*check)(); !st) return fail(st.error().with_context("installer check failed; release left as it was"));
    }
    auto result = finalize_directory(*dir, flags.tag, *facts);
    if (!result) return fail(result.error());
    out["changed"] = result->changed;
    out["release"] = result->release_json.string();
    line = (result->changed ? "released " : "already released ") + result->release_json.string();
  } else {
    auto repo = RepoName::parse(flags.repo);
    if (!repo) return fail(repo.error());
    auto github = connect_github(flags.github);
    if (!github) return fail(github.error());
    FinalizeOptions options{!flags.no_make_latest, *facts, *check};
    auto result = finalize_release(*github->api, *repo, flags.tag, options);
    if (!result) return fail(result.error());
    out["changed"] = result->changed;
    out["release"] = result->release.html_url;
    line = (result->changed ? "released " : "already released ") + flags.tag +
           (result->release.html_url.empty() ? "" : " " + result->release.html_url);
  }
  print_result_line(flags.format == "json" ? out.dump() : line);
  return {};
}

} // namespace

void add_finalize(CLI::App& app, CommandAction& action) {
  auto flags = std::make_shared<FinalizeFlags>();
  CLI::App* cmd = app.add_subcommand("finalize", "Turn a pre-release into a release once every asset is in place");
  cmd->add_option("--repo", flags->repo, "GitHub repository OWNER/NAME (not needed with a dir: target)");
  cmd->add_option("--tag", flags->tag, "The release's tag")->required();
  cmd->add_option("--installer-ref", flags->installer_ref,
                  "REGISTRY/REPO[:TAG]@sha256:<hex> that must exist in the registry; written into the notes");
  cmd->add_option("--target", flags->target, "github, or dir:PATH for a release published with upload-assets --target dir:PATH")
      ->capture_default_str();
  cmd->add_flag("--no-make-latest", flags->no_make_latest, "Do not mark the release as the repository's latest");
  cmd->add_option("--config", flags->config, "sbpipe YAML config: its imager: section names the extensions and kernel arguments for the notes");
  cmd->add_option("--format", flags->format, "Result on stdout: text or json")->capture_default_str();
  cmd->add_option("--registry-username", flags->registry_username, "Registry user name for the installer check (with --registry-password-file)");
  cmd->add_option("--registry-password-file", flags->registry_password_file, "File holding the registry password or token");
  cmd->add_flag("--plain-http", flags->plain_http, "Reach the registry over HTTP (loopback tests, in-cluster registries)");
  cmd->add_option("--registry-ca-file", flags->registry_ca_file, "Extra CA bundle for the registry");
  add_github_flags(*cmd, flags->github);
  cmd->callback([flags, &action] { action = [flags] { return run_finalize(*flags); }; });
}

} // namespace sbpipe

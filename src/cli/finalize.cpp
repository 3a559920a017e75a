// sbpipe finalize --repo OWNER/NAME --tag TAG [--github-api URL] [--installer-ref REF@DIGEST]

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "cli/github_flags.h"
#include "cli/output.h"
#include "github/finalize.h"
#include "pipeline/dir_target.h"
#include "pipeline/steps.h"

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

Result<ReleaseFacts> facts_of(const FinalizeFlags& flags) {
  if (flags.config.empty()) return release_facts(flags.tag, flags.installer_ref, nullptr);
  auto config = load_plan_config(flags.config);
  if (!config) return fail(config.error());
  return release_facts(flags.tag, flags.installer_ref, &*config);
}

Status run_finalize(const FinalizeFlags& flags) {
  if (auto st = check_choice("--format", flags.format, {"text", "json"}); !st) return st;
  auto target = parse_publish_target(flags.target);
  if (!target) return fail(target.error());
  const auto& dir = *target;
  if (flags.tag.empty()) return fail(ErrorKind::usage, "--tag must not be empty");
  auto facts = facts_of(flags);
  if (!facts) return fail(facts.error());
  RegistryAccess access{flags.registry_username, std::nullopt, flags.plain_http, flags.registry_ca_file, {}};
  if (!flags.registry_password_file.empty()) access.password_file = flags.registry_password_file;
  auto check = installer_check(flags.installer_ref, access, "--installer-ref");
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

// sbpipe submit --repo OWNER/NAME --tag TAG [--release-id ID [--release-state S]] [--dry-run] [--wait]
//              [--kubeconfig F] [--context NAME] [-n NS]
//
// `--dry-run --release-id ID` asks neither GitHub nor Kubernetes for
// anything it does not need (as `argo submit --dry-run` / `kubectl create
// --dry-run=client`): the Workflow is made from the flags alone; the
// kubeconfig is read, when there is one, only for its context's namespace.

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <thread>

#include "cli/app.h"
#include "cli/duration_flags.h"
#include "cli/github_flags.h"
#include "cli/kube_flags.h"
#include "cli/output.h"
#include "core/clock.h"
#include "core/duration.h"
#include "kube/client.h"
#include "oci/credentials.h"
#include "pipeline/config_check.h"
#include "plan/plan.h"
#include "plan/talos_version.h"
#include "webhook/serve_config.h"

namespace sbpipe {
namespace {

struct SubmitFlags {
  std::string repo;
  std::string tag;
  int64_t release_id = 0;
  std::string release_state;  // "", prerelease or draft
  bool dry_run = false;
  bool wait = false;
  bool force = false;
  std::string config;
  std::string namespace_name;
  std::string workflow_template;
  int poll_seconds = 10;
  int timeout_minutes = 240;
  std::string format = "text";
  GitHubFlags github;
  KubeSelection kube;
};

// Follows the Workflow until it ends; 0 only on Succeeded.
Status wait_for(KubeClient& kube, const std::string& namespace_name, const std::string& name, const SubmitFlags& flags) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(flags.timeout_minutes);
  std::string last;
  while (true) {
    auto workflow = kube.get_workflow(namespace_name, name);
    if (!workflow && !workflow.error().retryable()) return fail(workflow.error());
    std::string phase;
    if (workflow && (*workflow).contains("status") && (*workflow)["status"].is_object())
      phase = (*workflow)["status"].value("phase", "");
    if (!phase.empty() && phase != last) {
      spdlog::info("workflow {}: {}", name, phase);
      last = phase;
    }
    if (phase == "Succeeded") return {};
    if (phase == "Failed" || phase == "Error") {
      std::string message = (*workflow)["status"].value("message", "");
      return fail(ErrorKind::permanent, "workflow " + name + " ended " + phase + (message.empty() ? "" : ": " + message));
    }
    if (std::chrono::steady_clock::now() > deadline)
      return fail(ErrorKind::timeout, "workflow " + name + " still " + (phase.empty() ? "pending" : phase) + " after " +
                                          format_duration(std::chrono::minutes(flags.timeout_minutes)));
    real_clock().sleep_for(std::chrono::seconds(flags.poll_seconds));
  }
}

Status run_submit(const SubmitFlags& flags) {
  if (auto st = check_choice("--format", flags.format, {"text", "json", "yaml"}); !st) return st;
  auto repo = RepoName::parse(flags.repo);
  if (!repo) return fail(repo.error());
  ServeSettings settings;
  std::string talos_version;  // imager.talos_version: the tag check follows it when set
  if (!flags.config.empty()) {
    if (auto st = check_config_file(flags.config); !st) return st;
    auto loaded = load_serve_config(flags.config);
    if (!loaded) return fail(loaded.error());
    settings = std::move(*loaded);
    auto imager = load_plan_config(flags.config);
    if (!imager) return fail(imager.error());
    talos_version = imager->talos_version;
  }
  if (auto st = check_release_tag(flags.tag, talos_version); !st) return st;
  if (!flags.release_state.empty() && flags.release_state != "prerelease" && flags.release_state != "draft")
    return fail(ErrorKind::usage, "--release-state must be prerelease or draft");
  WorkflowTarget target = settings.target;
  if (!flags.workflow_template.empty()) target.workflow_template = flags.workflow_template;
  // The kubeconfig: always for a real submit; for a dry run only for the
  // context's namespace (and only when there is one, unless chosen by flag).
  bool kube_chosen = !flags.kube.kubeconfig.empty() || !flags.kube.context.empty();
  std::optional<KubeConfig> kube_config;
  if (!flags.dry_run || kube_chosen) {
    auto loaded = load_kube_config(process_getenv, flags.kube);
    if (!loaded) return fail(loaded.error());
    kube_config = std::move(*loaded);
  } else if (auto loaded = load_kube_config(process_getenv, flags.kube)) {
    kube_config = std::move(*loaded);
  } else {
    spdlog::debug("dry run: no kubeconfig ({}); namespace from flags or config", loaded.error().message());
  }
  target.namespace_name = workflow_namespace(flags.namespace_name, settings, kube_config ? &*kube_config : nullptr);

  ReleaseRef release_ref{repo->str(), flags.tag, flags.release_id, flags.release_state};
  if (flags.dry_run && flags.release_id != 0) {
    spdlog::info("dry run with --release-id: GitHub not asked; the release's tag and state are taken as given");
  } else {
    auto github = connect_github(flags.github);
    if (!github) return fail(github.error());
    // Resolved once, here: the Workflow's steps then work on exactly this
    // release (--release-id), in the state it has now (--release-state).
    auto release =
        flags.release_id != 0 ? github->api->get_release(*repo, flags.release_id) : github->api->find_release(*repo, flags.tag);
    if (!release) return fail(release.error());
    if (release->tag_name != flags.tag)
      return fail(ErrorKind::usage, "release id " + std::to_string(release->id) + " of " + repo->str() + " has tag '" +
                                        release->tag_name + "', not " + flags.tag);
    if (release->is_full_release() && !flags.force)
      return fail(ErrorKind::permanent, "release " + flags.tag + " of " + repo->str() +
                                            " is a full release already; --force to run the pipeline for it anyway");
    std::string state = release->draft ? "draft" : release->prerelease ? "prerelease" : "";
    if (!flags.release_state.empty() && flags.release_state != state)
      return fail(ErrorKind::usage, "release " + flags.tag + " of " + repo->str() + " is " +
                                        (state.empty() ? std::string("a full release") : "a " + state) + ", not a " +
                                        flags.release_state + " (--release-state)");
    release_ref.release_id = release->id;
    release_ref.state = state;
  }
  auto workflow = make_workflow(release_ref, target, WorkflowOrigin{"", "submit"}, true);
  if (flags.dry_run) {  // as argo submit --dry-run -o yaml|json prints it
    print_result_text(flags.format == "yaml" ? yaml_text(workflow) : workflow.dump(2) + "\n");
    return {};
  }
  spdlog::debug("Workflows through {}", kube_destination(*kube_config));
  KubeClient kube(make_kube_http(*kube_config, std::chrono::seconds(30)), *kube_config);
  auto created = kube.create_workflow(target.namespace_name, workflow);
  if (!created) return fail(created.error());
  spdlog::info("created workflow {} in namespace {}", created->name, target.namespace_name);
  if (flags.format != "text")
    print_structured_result(flags.format, {{"workflow", created->name}, {"namespace", target.namespace_name}});
  else
    print_result_line(created->name);
  if (flags.wait) return wait_for(kube, target.namespace_name, created->name, flags);
  return {};
}

}  // namespace

void add_submit(CLI::App& app, CommandAction& action) {
  auto flags = std::make_shared<SubmitFlags>();
  CLI::App* cmd = app.add_subcommand("submit", "Start a pipeline run for a release by hand (a re-run)");
  cmd->add_option("-R,--repo", flags->repo, "GitHub repository OWNER/NAME")->required();
  cmd->add_option("--tag", flags->tag, "The release's tag")->required();
  cmd->add_option("--release-id", flags->release_id, "GitHub's id of the release, when several drafts carry the tag")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--release-state", flags->release_state,
                  "prerelease or draft: the state the run must find the release in (with --dry-run --release-id: taken "
                  "as given, GitHub is not asked)")
      ->type_name("{prerelease,draft}");
  cmd->add_flag("--dry-run", flags->dry_run,
                "Print the Workflow JSON instead of creating it (with --release-id: without GitHub or a token)");
  cmd->add_flag("--wait", flags->wait, "Follow the Workflow until it ends; exit 0 only when it Succeeded");
  cmd->add_flag("--force", flags->force, "Also run for a release that is no longer a pre-release");
  cmd->add_option("--config", flags->config, "sbpipe YAML config; its serve.kubernetes section names the target");
  cmd->add_option("-n,--namespace", flags->namespace_name,
                  "Namespace of the Workflow (default: the config's, else the kubeconfig context's, else argo)");
  add_kube_flags(*cmd, flags->kube);
  cmd->add_option("--workflow-template", flags->workflow_template, "WorkflowTemplate (default talos-secureboot-build)");
  add_duration_flag(*cmd,
                    DurationFlag{.name = "--poll-interval",
                                 .description = "Time between phase checks with --wait",
                                 .value = std::chrono::seconds(flags->poll_seconds),
                                 .bare_unit = std::chrono::seconds(1),
                                 .min = std::chrono::seconds(1),
                                 .max = std::chrono::minutes(10)},
                    [flags](std::chrono::milliseconds d) {
                      flags->poll_seconds = static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(d).count());
                    });
  add_duration_flag(*cmd,
                    DurationFlag{.name = "--wait-timeout",
                                 .description = "How long --wait waits at most",
                                 .value = std::chrono::minutes(flags->timeout_minutes),
                                 .bare_unit = std::chrono::minutes(1),
                                 .min = std::chrono::minutes(1),
                                 .max = std::chrono::hours(24 * 7)},
                    [flags](std::chrono::milliseconds d) {
                      flags->timeout_minutes = static_cast<int>(std::chrono::duration_cast<std::chrono::minutes>(d).count());
                    });
  add_format_flag(*cmd, flags->format, {"text", "json", "yaml"},
                  "Result on stdout: the Workflow's name, or a document (--dry-run prints the Workflow itself, JSON or YAML)");
  add_github_flags(*cmd, flags->github);
  cmd->callback([flags, &action] { action = [flags] { return run_submit(*flags); }; });
}

}  // namespace sbpipe

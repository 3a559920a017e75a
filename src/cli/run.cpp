// sbpipe run --tag TAG [--config F] [--target github|dir:PATH] [--repo OWNER/NAME] [--source DIR]
//            [--release-id ID] [--release-state S] [--state-dir D] [--restart] [--wait]

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <algorithm>

#include "cli/app.h"
#include "cli/github_flags.h"
#include "cli/output.h"
#include "cli/registry_flags.h"
#include "cli/release_target.h"
#include "cli/run_interrupts.h"
#include "cli/run_report.h"
#include "pipeline/config_check.h"
#include "pipeline/imager_command.h"
#include "pipeline/preflight.h"
#include "pipeline/run_config.h"
#include "pipeline/run_env.h"
#include "pipeline/run_state.h"
#include "pipeline/run_text.h"
#include "pipeline/runner.h"
#include "plan/talos_version.h"
#include "release/target_spec.h"
#include "release/upgrade_ref.h"

namespace sbpipe {
namespace {

struct RunFlags {
  std::string tag;
  std::string config;
  std::string target;
  std::string repo;
  std::string source;
  std::string state_dir;
  std::string keys_dir;
  std::string cert;
  std::string installer_repository;
  std::string registry_username;
  std::string registry_password_file;
  bool plain_http = false;
  RegistryAccess access;  // --authfile, --insecure
  bool restart = false;
  bool wait = false;
  bool allow_key_rotation = false;
  bool no_make_latest = false;
  bool dry_run = false;
  std::string format = "text";
  GitHubFlags github;
  ReleaseFlags pin;  // --release-id, --release-state
};

// --format json: what was published, every step's journal record, the
// preflight's rows ([] when it was skipped) and, for --dry-run, the plan's
// text (null otherwise). One shape for every outcome, as README.md lists it.
nlohmann::json run_result_json(const std::string& tag, const RunResult& result, const nlohmann::json& preflight,
                               const nlohmann::json& plan = nullptr) {
  const bool pushed = result.push && !result.push->skipped;
  // The `talosctl upgrade --image` argument: the installer by digest only (release/upgrade_ref.h).
  return {{"tag", tag},
          {"installer", pushed ? nlohmann::json(result.push->ref) : nlohmann::json()},
          {"upgrade", pushed ? nlohmann::json(upgrade_image_ref(result.push->ref)) : nlohmann::json()},
          {"assets", result.upload ? report_json(result.upload->assets) : nlohmann::json::array()},
          {"release", result.finalize ? nlohmann::json(result.finalize->release) : nlohmann::json()},
          {"steps", result.steps.is_null() ? nlohmann::json::object() : result.steps},
          {"preflight", preflight},
          {"plan", plan}};
}

// The config file's `imager:` and `run:` sections, then the flags over them.
Result<std::pair<RunSettings, PlanConfig>> settings_from(RunFlags& flags) {
  RunSettings settings;
  PlanConfig plan;
  if (!flags.config.empty()) {
    if (auto st = check_config_file(flags.config); !st) return fail(st.error());
    auto run = load_run_config(flags.config);
    if (!run) return fail(run.error());
    settings = std::move(*run);
    auto imager = load_plan_config(flags.config);
    if (!imager) return fail(imager.error());
    plan = std::move(*imager);
  }
  auto set = [](std::string& field, const std::string& flag) {
    if (!flag.empty()) field = flag;
  };
  set(settings.target, flags.target);
  set(settings.repo, flags.repo);
  set(settings.source_dir, flags.source);
  set(settings.state_dir, flags.state_dir);
  set(settings.keys_dir, flags.keys_dir);
  set(settings.cert_file, flags.cert);
  set(settings.installer_repository, flags.installer_repository);
  set(settings.registry.username, flags.registry_username);
  if (!flags.registry_password_file.empty()) settings.registry.password_file = flags.registry_password_file;
  if (flags.plain_http) settings.registry.plain_http = true;
  set(settings.registry.authfile, flags.access.authfile);
  if (flags.access.insecure) settings.registry.insecure = true;
  if (flags.no_make_latest) settings.make_latest = false;
  settings.registry.retry.max_attempts = flags.github.retries;  // --retries and --retry-delay-ms serve the registry too
  settings.registry.retry.base_delay = std::chrono::milliseconds(flags.github.retry_delay_ms);
  // The GitHub flags have defaults; the config's values win over a default.
  if (flags.github.api == GitHubFlags{}.api) flags.github.api = settings.github_api;
  if (flags.github.token_file.empty()) flags.github.token_file = settings.github_token_file;
  return std::pair{std::move(settings), std::move(plan)};
}

Status run_run(RunFlags& flags) {
  if (auto st = check_choice("--format", flags.format, {"text", "json", "yaml"}); !st) return st;
  if (flags.tag.empty()) return fail(ErrorKind::usage, "--tag must not be empty");
  auto loaded = settings_from(flags);
  if (!loaded) return fail(loaded.error());
  auto& [settings, plan] = *loaded;
  // The version before anything else: "latest" or "1.12.4" builds nothing.
  if (auto st = check_release_tag(flags.tag, plan.talos_version); !st) return st;
  std::string dry_text;
  if (flags.dry_run) {
    auto text = run_dry_text(flags.tag, settings, plan);
    if (!text) return fail(text.error());
    dry_text = std::move(*text);
  }
  ReleaseFlags release{settings.repo, flags.tag, settings.target, flags.pin.release_id, flags.pin.release_state};
  auto spec = parse_target_spec(settings.target);
  if (!spec) return fail(spec.error());
  if (has_release_ids(*spec) && settings.repo.empty())
    return fail(ErrorKind::usage, "--repo (or run.repo) is needed to publish to GitHub");
  // A missing token is the preflight's to report (with the other checks);
  // bad flags are usage errors at once.
  auto opened = open_release_target(release, flags.github, ForeignReleaseId::ignore);
  if (!opened && opened.error().kind() == ErrorKind::usage) return fail(opened.error());
  RegistryInstallers installers(real_clock());
  const bool json = flags.format != "text";
  // Ctrl-C and SIGTERM from here on: imager stopped, and the run says so (cli/run_interrupts.h).
  const std::string journal = (state_root(settings) / flags.tag / "journal.json").string();
  RunInterrupts interrupts("the journal " + journal + " keeps every finished step: run the same command again to resume");

  // The preflight runs before imager would; a run resumed after verify has
  // nothing of minutes left to protect, and its steps check what they need.
  std::vector<PreflightRow> preflight;
  if (flags.dry_run || flags.restart || !RunState::recorded(state_root(settings), flags.tag, step_key(RunStep::verify))) {
    PreflightEnv penv{real_clock(), real_process_runner(), installers, opened ? opened->target.get() : nullptr,
                      opened ? std::string() : opened.error().message()};
    penv.waits_for_lock = flags.wait;
    penv.architectures = plan.architectures;
    penv.allow_key_rotation = flags.allow_key_rotation;
    preflight = run_preflight(flags.tag, settings, penv);
    if (flags.dry_run) {
      if (json)
        print_structured_result(flags.format, run_result_json(flags.tag, RunResult{}, preflight_json(preflight), dry_text));
      else
        print_result_text(dry_text + "\n" + preflight_table(preflight));
      return preflight_status(preflight);
    }
    if (auto st = preflight_status(preflight); !st) {
      if (json)
        print_structured_result(flags.format, run_result_json(flags.tag, RunResult{}, preflight_json(preflight)));
      else
        print_result_text(preflight_table(preflight));
      return st;
    }
    if (!json) print_result_text(preflight_table(preflight) + "\n");
  } else {
    spdlog::info(
        "preflight: skipped; the build was verified in an earlier run (journal), and each later step checks what it needs");
  }
  if (!opened) return fail(opened.error());

  std::vector<StepTime> timings;
  RunEnv env{real_clock(), real_process_runner(), real_verifier(), installers, *opened->target, registry_inputs()};
  RunRequest request{.tag = flags.tag,
                     .restart = flags.restart,
                     .wait = flags.wait,
                     .release_state = opened->pin.started_as,
                     .allow_key_rotation = flags.allow_key_rotation,
                     .on_step = [&timings](const StepTime& t) { timings.push_back(t); }};
  auto steps = run_pipeline(request, settings, plan, env);
  if (int signal = interrupts.settle()) {
    if (!json && !timings.empty()) print_result_text(step_table(timings));
    std::string step = timings.empty() ? std::string("the run") : timings.back().step;
    auto stopped = interrupts.stopped();
    std::string what = stopped.empty() ? "no child was running" : "stopped imager (pid " + std::to_string(stopped.front()) + ")";
    spdlog::error(
        "interrupted ({}) during {}: {}; nothing after it ran; the journal {} keeps every finished step: run the same "
        "command again to resume at {}",
        signal_name(signal), step, what, journal, step);
    spdlog::default_logger()->flush();
    std::exit(128 + signal);  // as a shell reports a run a signal ended
  }
  if (json) {
    if (steps) {
      print_structured_result(flags.format, run_result_json(flags.tag, *steps, preflight_json(preflight)));
    }
  } else {
    bool all_earlier = !timings.empty() && std::all_of(timings.begin(), timings.end(),
                                                       [](const StepTime& t) { return t.outcome == StepOutcome::earlier; });
    if (steps && all_earlier) {
      // As terraform says "No changes": what stands, without a table of steps that did nothing.
      std::string released = steps->finalize ? steps->finalize->release : std::string("(not finalized)");
      std::string installer = steps->push && !steps->push->skipped ? steps->push->ref : std::string("(not pushed)");
      // What a node owner types, as run_summary says it.
      std::string upgrade = steps->push && !steps->push->skipped
                                ? "\nupgrade    talosctl upgrade --image " + upgrade_image_ref(steps->push->ref)
                                : std::string();
      print_result_text("nothing to do: " + flags.tag + " was built and published by an earlier run\ninstaller  " + installer +
                        upgrade + "\nrelease    " + released + "\n");
    } else {
      std::string text = steps ? run_summary(*steps) : std::string();
      if (!timings.empty()) text += (text.empty() ? "" : "\n") + step_table(timings);
      if (!text.empty()) print_result_text(text);
    }
  }
  if (!steps) {
    // A registry or GitHub that went away: nothing half is left (the tag is
    // moved last, assets are swapped whole), and the journal resumes it.
    if (steps.error().retryable() && !timings.empty())
      return fail(Error(steps.error().kind(), steps.error().message() + "; nothing of " + timings.back().step +
                                                  " is half published, and the journal " + journal +
                                                  " keeps every finished step: run the same command again to resume at " +
                                                  timings.back().step));
    return fail(steps.error());
  }
  return {};
}

}  // namespace

void add_run(CLI::App& app, CommandAction& action) {
  auto flags = std::make_shared<RunFlags>();
  CLI::App* cmd = app.add_subcommand("run", "Run the whole pipeline for one version on this machine, resumably (no Argo)");
  cmd->add_option("--tag", flags->tag, "The version (the release's tag) to build and publish")->required();
  cmd->add_option("--config", flags->config, "sbpipe YAML config: its imager: and run: sections")->envname("SBPIPE_CONFIG");
  cmd->add_option("--target", flags->target, "github (default), or dir:PATH to publish into PATH/<tag>/");
  cmd->add_option("-R,--repo", flags->repo, "GitHub repository OWNER/NAME holding the release");
  add_release_pin_flags(*cmd, flags->pin);
  cmd->add_option("--source", flags->source, "Checkout of the build repository: the tag's commit is recorded as provenance");
  cmd->add_option("--state-dir", flags->state_dir, "Where each version's journal, lock and outputs live");
  cmd->add_option("--keys-dir", flags->keys_dir, "The signing keys, given to imager only (as {keys})");
  cmd->add_option("--cert", flags->cert, "uki-signing-cert.pem for verify (default: in --keys-dir)");
  cmd->add_option("--installer-repository", flags->installer_repository,
                  "REGISTRY/REPO to push the installer to (tag: the version)");
  cmd->add_option("--registry-username", flags->registry_username, "Registry user name (with --registry-password-file)");
  cmd->add_option("--registry-password-file", flags->registry_password_file, "File holding the registry password or token");
  cmd->add_flag("--plain-http", flags->plain_http, "Reach the registry over HTTP (loopback, in-cluster registries)");
  add_registry_access_flags(*cmd, flags->access);
  cmd->add_flag("--restart", flags->restart, "Forget the finished steps and build again (what was published stays)");
  cmd->add_flag("--wait", flags->wait, "Wait for another run of this version to end instead of refusing");
  cmd->add_flag("--allow-key-rotation", flags->allow_key_rotation,
                "Publish a build whose PCR key or UKI signer differs from the previous release's (an intended rotation: "
                "re-seal TPM-encrypted disks or keep a recovery key first); the release notes say so");
  cmd->add_flag("--dry-run", flags->dry_run,
                "Print imager's command lines, the certificate, the installer reference and the target, and run the "
                "preflight checks (exit 1 when one fails); build and publish nothing");
  cmd->add_flag("--no-make-latest", flags->no_make_latest, "Do not mark the release as the repository's latest");
  add_format_flag(*cmd, flags->format, {"text", "json", "yaml"}, "Summary on stdout");
  add_github_flags(*cmd, flags->github);
  // The journal's step names, in order (tests/docs/check_docs.py holds the docs to them).
  std::string chain;
  for (RunStep step : {RunStep::plan, RunStep::release, RunStep::imager, RunStep::verify, RunStep::push_installer,
                       RunStep::upload_assets, RunStep::finalize})
    chain += (chain.empty() ? "" : " → ") + (step == RunStep::imager ? std::string("imager") : step_key(step));
  cmd->footer("Steps: " + chain + " (each recorded in STATE/<tag>/journal.json; a re-run resumes)");
  cmd->callback([flags, &action] { action = [flags] { return run_run(*flags); }; });
}

}  // namespace sbpipe

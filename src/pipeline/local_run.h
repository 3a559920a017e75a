#pragma once
// `sbpipe run`: the whole pipeline on one machine, without Argo, with the
// same step code the Argo steps run:
//   plan → imager (each output, through a command template) → verify (the
//   gate, with continuity to the previous release) → push-installer →
//   upload-assets (every non-installer output, PXE files included) → finalize.
// Each finished step is recorded with its outputs in the version's journal
// (run_state.h) before the next starts, so a re-run skips what is done and
// resumes what is not; every step is idempotent, so the step a crash cut
// short simply runs again. Nothing is published before verify passed, and
// finalize checks everything it promises before it flips the release.

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config_keys.h"
#include "pipeline/steps.h"
#include "release/target.h"
#include "plan/plan.h"

namespace sbpipe {

// The `run:` section of the sbpipe config.
struct RunSettings {
  std::string repo;                                 // OWNER/NAME: the GitHub release (and release.json's repository)
  std::string target = "github";                    // or dir:PATH
  std::string state_dir;                            // empty: default_state_dir()
  std::string keys_dir = "/etc/sbpipe/secureboot";  // given to imager only, as {keys}
  std::string cert_file;                            // empty: <keys_dir>/uki-signing-cert.pem (public; verify reads only this)
  // The PCR public key nodes are sealed to (verify --pcr-pubkey); empty:
  // <keys_dir>/pcr-signing-key.pub.pem, as `keys check --write-public` writes it.
  std::string pcr_public_key;
  // imager's command line: words with {keys} {out} {image} in them, and a
  // word {args} that becomes imager's arguments from the plan.
  std::vector<std::string> imager_command{"docker", "run",        "--rm",    "-v",    "{keys}:/secureboot:ro",
                                          "-v",     "{out}:/out", "{image}", "{args}"};
  // The directory imager writes to as imager sees it (the --output value):
  // "/out" in a container with {out} mounted there, "{out}" for a program
  // run directly.
  std::string imager_output = "/out";
  std::string installer_repository;  // REGISTRY/REPO; the tag is the version; empty: no push
  // The previous release's installer, for continuity (continuity.h); empty:
  // installer_repository's highest version below this one.
  std::string previous_ref;
  std::string source_dir;  // checkout of the build repository (provenance)
  bool make_latest = true;
  RegistryAccess registry;
  std::string github_api = "https://api.github.com";
  std::string github_token_file;
  std::vector<std::string> require_cmdline;
  std::vector<std::string> forbid_cmdline;
};

Result<RunSettings> parse_run_config(std::string_view yaml, std::string_view label);
Result<RunSettings> load_run_config(const std::filesystem::path& path);
// The keys parse_run_config reads, for the whole file's check (config_check.h).
ConfigSection run_config_section();

// The state directory: env SBPIPE_STATE_DIR, else systemd's
// STATE_DIRECTORY, else $XDG_STATE_HOME/sbpipe, else ~/.local/state/sbpipe.
std::filesystem::path default_state_dir();

// The state directory run_pipeline uses: run.state_dir, else default_state_dir().
std::filesystem::path state_root(const RunSettings& settings);

// The files verify reads: run.cert_file, else <keys_dir>/uki-signing-cert.pem;
// run.pcr_public_key, else <keys_dir>/pcr-signing-key.pub.pem.
std::string cert_path(const RunSettings& settings);
std::string pcr_public_path(const RunSettings& settings);

// config error naming the setting and the file when the certificate (or
// the PCR public key, with how to write it) is not a file.
Status check_cert_input(const RunSettings& settings);
Status check_pcr_public_input(const RunSettings& settings);

// Splits a command line into words (whitespace; '...' and "..." quote).
Result<std::vector<std::string>> split_command(std::string_view text);

struct ImagerSlots {
  std::string keys;
  std::string out;
  std::string image;
  std::vector<std::string> args;
};
// The argv for one imager invocation. config error for a placeholder other
// than {keys} {out} {image} {args}, or a template without {args}.
Result<std::vector<std::string>> expand_imager_command(const std::vector<std::string>& command, const ImagerSlots& slots);

// One step of a run as it ended, for the step list `run` prints at the end:
// done now, done in an earlier run (the journal), or failed.
enum class StepOutcome { done, earlier, failed };
std::string_view step_outcome_name(StepOutcome outcome);  // "done", "earlier run", "FAILED"
struct StepTime {
  std::string step;  // the journal's name: "plan", "imager:iso-amd64", ...
  StepOutcome outcome = StepOutcome::done;
  std::chrono::steady_clock::duration took{};
};

struct RunRequest {
  std::string tag;       // the version
  bool restart = false;  // forget the journal and build again (published things are kept)
  bool wait = false;     // wait for another run of this version instead of refusing
  // The state the release had when the run was started (serve knows it from
  // the webhook); unset: the state found by the first look at the release.
  std::optional<ReleaseState> release_state;
  bool allow_key_rotation = false;  // a changed PCR key or UKI signer is published, with a notice
  // Called as each step ends (timed with the env's clock), the failed one too.
  std::function<void(const StepTime&)> on_step;
};

// Runs (or resumes) the pipeline through `env` (run_env.h: processes, the
// verifier, the installer registry, the release target and the clock);
// returns the journal's steps.
// Where run publishes is env.release: a GitHub release or a directory. The
// first look at the release (before imager) records its id and state in the
// journal (step "release"); every later look, before the push and in
// upload-assets and finalize, refuses a release that changed since: another
// id behind the tag, another tag, unpublished, deleted.
struct RunEnv;
Result<nlohmann::json> run_pipeline(const RunRequest& request, const RunSettings& settings, const PlanConfig& plan_config,
                                    const RunEnv& env);

// What a run would do, without doing any of it: the state directory,
// imager's command lines, the certificate verify uses, the installer
// reference and the publishing target.
Result<std::string> run_dry_text(const std::string& tag, const RunSettings& settings, const PlanConfig& plan_config);

// What a finished run made, for people: installer, assets, release.
std::string run_summary(const nlohmann::json& steps);

}  // namespace sbpipe

#pragma once
// `sbpipe run`: the whole pipeline on one machine, without Argo, with the
// same step code the Argo steps run, from one release plan (plan/plan.h):
//   plan → release (pin it) → imager (each invocation, through a command
//   template) → verify (the plan's gate, with continuity to the previous
//   release) → push-installer (the plan's installer) → upload-assets (the
//   plan's assets: plan/published.h) → finalize.
// Each finished step is recorded with its outputs in the version's journal
// (run_state.h, run_records.h) before the next starts, so a re-run skips
// what is done and resumes what is not; every step is idempotent, so the
// step a crash cut short simply runs again. Nothing is published before
// verify passed, and finalize checks everything it promises before it
// flips the release.

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "pipeline/run_config.h"
#include "pipeline/run_records.h"
#include "plan/plan.h"
#include "release/target.h"

namespace sbpipe {

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
// returns what the journal holds at the end.
// Where run publishes is env.release: a GitHub release or a directory. The
// first look at the release (before imager) records its id and state in the
// journal (step "release"); every later look, before the push and in
// upload-assets and finalize, refuses a release that changed since: another
// id behind the tag, another tag, unpublished, deleted.
struct RunEnv;
Result<RunResult> run_pipeline(const RunRequest& request, const RunSettings& settings, const PlanConfig& plan_config,
                               const RunEnv& env);

}  // namespace sbpipe

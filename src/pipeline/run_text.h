#pragma once
// What `sbpipe run` prints for people: the dry run's account of what it
// would do, and the summary of what a finished run made.

#include <string>

#include "pipeline/run_config.h"
#include "pipeline/run_records.h"
#include "plan/plan.h"

namespace sbpipe {

// What a run would do, without doing any of it: the state directory,
// imager's command lines, the files verify checks against the certificate,
// the installer reference, the target and every asset the plan publishes.
// The plan's and the settings' errors.
Result<std::string> run_dry_text(const std::string& tag, const RunSettings& settings, const PlanConfig& plan_config);

// What a finished run made, for people: installer, assets, release.
std::string run_summary(const RunResult& result);

}  // namespace sbpipe

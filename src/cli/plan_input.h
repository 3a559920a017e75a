#pragma once
// `--plan PLAN --out DIR` on the commands that act on a whole build
// (`verify`, `push-installer`, `upload-assets`): the files come from the
// release plan `sbpipe plan --save PLAN` wrote (plan/published.h), as they
// do in `run`, instead of being listed on the command line. The Argo
// template's steps use this form, so they and `run` act on the same set.

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "plan/plan.h"

namespace sbpipe {

struct PlanInputFlags {
  std::string plan;  // the plan's JSON file
  std::string out;   // imager's output directory
};

// Adds --plan and --out to `cmd`; `what` says what the plan gives ("the
// installer inputs").
void add_plan_input_flags(CLI::App& cmd, PlanInputFlags& flags, const std::string& what);

// The plan when --plan was given, nullopt when the files come as arguments.
// usage error for --plan without --out (or --out alone), or for both files
// on the command line and --plan; the plan file's own errors.
Result<std::optional<Plan>> load_plan_input(const PlanInputFlags& flags, const std::vector<std::string>& positional,
                                            const std::string& positional_name);

}  // namespace sbpipe

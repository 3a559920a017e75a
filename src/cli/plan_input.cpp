#include "cli/plan_input.h"

namespace sbpipe {

void add_plan_input_flags(CLI::App& cmd, PlanInputFlags& flags, const std::string& what) {
  cmd.add_option("--plan", flags.plan, "Release plan (sbpipe plan --save PLAN): take " + what + " from it, with --out");
  cmd.add_option("--out", flags.out, "imager's output directory, where the plan's files are (with --plan)");
}

Result<std::optional<Plan>> load_plan_input(const PlanInputFlags& flags, const std::vector<std::string>& positional,
                                            const std::string& positional_name) {
  if (flags.plan.empty() && !flags.out.empty()) return fail(ErrorKind::usage, "--out goes with --plan");
  if (flags.plan.empty()) {
    if (positional.empty()) return fail(ErrorKind::usage, positional_name + " is required (or --plan PLAN --out DIR)");
    return std::optional<Plan>();
  }
  if (!positional.empty())
    return fail(ErrorKind::usage, "give either " + positional_name + " arguments or --plan, not both (--plan names the files)");
  if (flags.out.empty()) return fail(ErrorKind::usage, "--plan needs --out, imager's output directory");
  auto plan = load_plan(flags.plan);
  if (!plan) return fail(plan.error().with_context("--plan"));
  return std::optional<Plan>(std::move(*plan));
}

}  // namespace sbpipe

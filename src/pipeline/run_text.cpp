#include "pipeline/run_text.h"

#include "core/table.h"
#include "pipeline/imager_command.h"
#include "release/target_spec.h"
#include "release/upgrade_ref.h"

namespace sbpipe {
namespace fs = std::filesystem;

Result<std::string> run_dry_text(const std::string& tag, const RunSettings& settings, const PlanConfig& plan_config) {
  auto plan = make_plan(tag, plan_config, nullptr);
  if (!plan) return fail(plan.error());
  auto spec = parse_target_spec(settings.target, "run.target");
  if (!spec) return fail(spec.error());
  fs::path version_dir = state_root(settings) / tag;
  std::string out = "state    " + version_dir.string() + "\n";
  for (const auto& inv : plan->invocations) {
    auto argv = imager_argv(settings, inv, version_dir / ("imager-" + inv.name), version_dir / "no-keys");
    if (!argv) return fail(argv.error());
    out += "imager   ";
    for (size_t i = 0; i < argv->size(); ++i) out += (i ? " " : "") + shell_quote((*argv)[i]);
    out += "\n";
  }
  out += "verify   ";
  for (size_t i = 0; i < plan->publish.gate.size(); ++i) out += (i ? " " : "") + plan->publish.gate[i];
  out += " against " + cert_path(settings) + " and the PCR key " + pcr_public_path(settings) + "\n";
  out += "push     " +
         (settings.installer_repository.empty() ? std::string("(no run.installer_repository)")
                                                : settings.installer_repository + ":" + tag) +
         "\n";
  out += "publish  " + describe_target(*spec, tag, settings.repo) + "\n";
  for (const auto& a : plan->publish.assets)
    out += "asset    " + a.name +
           (a.source == AssetSource::imager ? " (imager " + a.file + (a.verified ? "" : ", unverified") + ")"
                                            : " (generated: " + std::string(generator_name(a.generator)) + ")") +
           "\n";
  return out;
}

std::string run_summary(const RunResult& result) {
  Table table;
  table.add_row({"installer", result.push && !result.push->skipped ? result.push->ref : std::string("(not pushed)")});
  // What a node owner types: the installer by digest only (upgrade_ref.h).
  if (result.push && !result.push->skipped)
    table.add_row({"upgrade", "talosctl upgrade --image " + upgrade_image_ref(result.push->ref)});
  if (result.upload)
    for (const auto& a : result.upload->assets) table.add_row({"asset", a.name, std::string(outcome_name(a.outcome)), a.sha256});
  table.add_row({"release", result.finalize ? result.finalize->release : std::string("(not finalized)")});
  return table.render();
}

}  // namespace sbpipe

#include "cli/run_report.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>

#include "core/table.h"

namespace sbpipe {
namespace {

std::string took(std::chrono::steady_clock::duration d) {
  double seconds = std::chrono::duration<double>(d).count();
  if (seconds < 60) return fmt::format("{:.1f}s", seconds);
  auto whole = static_cast<long>(seconds);
  return fmt::format("{}m{:02}s", whole / 60, whole % 60);
}

}  // namespace

std::string preflight_table(const std::vector<PreflightRow>& rows) {
  Table table({"CHECK", "RESULT", "DETAIL"});
  table.set_min_width(1, 6);  // "RESULT" lines up with keys check's
  for (const auto& r : rows) table.add_row({r.check, std::string(preflight_result_name(r.result)), r.detail});
  return table.render();
}

nlohmann::json preflight_json(const std::vector<PreflightRow>& rows) {
  auto out = nlohmann::json::array();
  for (const auto& r : rows)
    out.push_back({{"check", r.check}, {"result", preflight_result_name(r.result)}, {"detail", r.detail}});
  return out;
}

std::string step_table(const std::vector<StepTime>& steps) {
  Table table({"STEP", "RESULT", "TOOK"});
  table.set_min_width(1, 11);  // "earlier run"
  for (const auto& s : steps) table.add_row({s.step, std::string(step_outcome_name(s.outcome)), took(s.took)});
  return table.render();
}

}  // namespace sbpipe

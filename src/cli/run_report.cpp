#include "cli/run_report.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>

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
  size_t width = std::string_view("CHECK").size();
  for (const auto& r : rows) width = std::max(width, r.check.size());
  std::string out = fmt::format("{:<{}}  {:<6}  {}\n", "CHECK", width, "RESULT", "DETAIL");
  for (const auto& r : rows) out += fmt::format("{:<{}}  {:<6}  {}\n", r.check, width, preflight_result_name(r.result), r.detail);
  return out;
}

nlohmann::json preflight_json(const std::vector<PreflightRow>& rows) {
  auto out = nlohmann::json::array();
  for (const auto& r : rows)
    out.push_back({{"check", r.check}, {"result", preflight_result_name(r.result)}, {"detail", r.detail}});
  return out;
}

std::string step_table(const std::vector<StepTime>& steps) {
  size_t width = std::string_view("STEP").size();
  for (const auto& s : steps) width = std::max(width, s.step.size());
  std::string out = fmt::format("{:<{}}  {:<11}  {}\n", "STEP", width, "RESULT", "TOOK");
  for (const auto& s : steps)
    out += fmt::format("{:<{}}  {:<11}  {}\n", s.step, width, step_outcome_name(s.outcome), took(s.took));
  return out;
}

}  // namespace sbpipe

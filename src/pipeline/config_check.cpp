#include "pipeline/config_check.h"

#include <array>

#include "core/config_file.h"
#include "core/file.h"
#include "pipeline/run_config.h"
#include "plan/plan.h"
#include "webhook/serve_config.h"

namespace sbpipe {
namespace {

// manifests/systemd/sbpipe.yaml as a string literal, written by CMake at
// configure time (CMakeLists.txt: SBPIPE_EXAMPLE_CONFIG).
constexpr std::string_view k_example_config =
#include "example_config.inc"
    ;

const std::array<ConfigSection, 3> k_sections{plan_config_section(), serve_config_section(), run_config_section()};

// A reader's refusal without the file label it starts with ("F: ").
std::string without_label(const Error& error, std::string_view label) {
  std::string message = error.message();
  std::string prefix = std::string(label) + ": ";
  return message.starts_with(prefix) ? message.substr(prefix.size()) : message;
}

}  // namespace

std::span<const ConfigSection> config_sections() { return k_sections; }

Status check_config_text(std::string_view yaml, std::string_view label) {
  auto unknown = unknown_config_keys(yaml, label, k_sections);
  if (!unknown) return fail(unknown.error());
  if (auto st = unknown_keys_status(*unknown, label, k_sections); !st) return st;
  // Only then the values: a reader names the first value of its section it
  // refuses; every section is read, so each refusal is named in one run.
  std::string refused;
  auto note = [&](const Status& st) {
    if (!st) refused += (refused.empty() ? "" : "; ") + without_label(st.error(), label);
  };
  auto plan = parse_plan_config(yaml, label);
  note(plan ? Status{} : Status(fail(plan.error())));
  auto serve = parse_serve_config(yaml, label);
  note(serve ? Status{} : Status(fail(serve.error())));
  auto run = parse_run_config(yaml, label);
  note(run ? Status{} : Status(fail(run.error())));
  if (!refused.empty()) return config_error(label, refused);
  return {};
}

Status check_config_file(const std::filesystem::path& path) {
  auto text = read_small_file(path);
  if (!text) return fail(ErrorKind::config, "--config: " + text.error().message());
  return check_config_text(*text, path.string());
}

std::string_view example_config() { return k_example_config; }

}  // namespace sbpipe

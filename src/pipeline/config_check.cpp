#include "pipeline/config_check.h"

#include <array>

#include "core/config_file.h"
#include "core/file.h"
#include "core/suggest.h"
#include "oci/reference.h"
#include "pipeline/run_config.h"
#include "plan/plan.h"
#include "plan/talos_version.h"
#include "webhook/event.h"
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

// " (did you mean X?)" when a candidate is close to `value`; "" otherwise.
std::string did_you_mean(const std::string& value, const std::vector<std::string>& candidates) {
  auto close = suggestions_for(value, candidates);
  if (close.empty()) return "";
  std::string text = " (did you mean " + close.front();
  for (size_t i = 1; i < close.size(); ++i) text += " or " + close[i];
  return text + "?)";
}

std::string listed(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& n : names) text += (text.empty() ? "" : ", ") + n;
  return text;
}

// The example's placeholder, left in a value.
bool holds_placeholder(std::string_view value) { return value.find("OWNER") != std::string_view::npos; }

// Checks of the values the types let through: every problem, each with the
// key it came from and, where one is close, what was probably meant.
class ValueChecks {
public:
  explicit ValueChecks(Placeholders placeholders) : m_placeholders(placeholders) {}
  void note(std::string problem) { m_problems.push_back(std::move(problem)); }
  const std::vector<std::string>& problems() const { return m_problems; }

  void placeholder(const char* key, const std::string& value) {
    if (m_placeholders == Placeholders::refuse && holds_placeholder(value))
      note(std::string(key) + " '" + value + "' still holds the example's placeholder OWNER: put your GitHub account there");
  }

  void imager(const PlanConfig& c) {
    const auto outputs = plan_output_names();
    for (const auto& o : c.outputs)
      if (std::find(outputs.begin(), outputs.end(), o) == outputs.end())
        note("imager.outputs: unknown output '" + o + "'" + did_you_mean(o, outputs) + "; the outputs are " + listed(outputs));
    const auto arches = plan_architectures();
    for (const auto& a : c.architectures) {
      if (std::find(arches.begin(), arches.end(), a) != arches.end()) continue;
      // The kernel's and distributions' names for the same machines.
      std::string hint = a == "x86_64" || a == "x86-64" ? " (did you mean amd64? Talos names x86_64 amd64)"
                         : a == "aarch64"               ? " (did you mean arm64? Talos names aarch64 arm64)"
                                                        : did_you_mean(a, arches);
      note("imager.architectures: unknown architecture '" + a + "'" + hint + "; the architectures are " + listed(arches));
    }
    if (!c.talos_version.empty())
      if (auto v = supported_talos_version(c.talos_version, "imager.talos_version"); !v) note(v.error().message());
  }

  void run(const RunSettings& s) {
    if (!s.repo.empty()) {
      if (!is_repo_name(s.repo)) note("run.repo '" + s.repo + "' is not OWNER/NAME (e.g. alice/talos-build)");
      placeholder("run.repo", s.repo);
    }
    if (s.target != "github" && !s.target.starts_with("dir:"))
      note("run.target '" + s.target + "' is neither github nor dir:PATH" + did_you_mean(s.target, {"github", "dir:"}));
    else if (s.target == "dir:")
      note("run.target 'dir:' names no directory (dir:/srv/pxe)");
    if (!s.installer_repository.empty()) {
      auto ref = ImageRef::parse(s.installer_repository + ":check", "run.installer_repository");
      bool lower =
          std::none_of(s.installer_repository.begin(), s.installer_repository.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
      if (holds_placeholder(s.installer_repository))
        placeholder("run.installer_repository", s.installer_repository);  // named by config check; a template otherwise
      else if (!lower)
        note("run.installer_repository '" + s.installer_repository + "' must be lower case (registries refuse capitals)");
      else if (!ref)
        note("run.installer_repository '" + s.installer_repository +
             "' is not REGISTRY/REPOSITORY (e.g. ghcr.io/alice/installer)");
    }
    placeholder("run.registry_username", s.registry.username);
    if (!s.previous_ref.empty() && !ImageRef::parse(s.previous_ref, "run.previous_ref"))
      note("run.previous_ref '" + s.previous_ref + "' is not REGISTRY/REPOSITORY:TAG[@sha256:...]");
  }

  void serve(const ServeSettings& s) {
    for (const auto& r : s.filter.allowed_repos) {
      if (!is_repo_name(r)) note("serve.allow_repos: '" + r + "' is not OWNER/NAME");
      placeholder("serve.allow_repos", r);
    }
    // The pattern alone: the repositories are checked above, one by one, and
    // may come from --allow-repo instead (serve refuses a start without any).
    EventFilterConfig pattern_only = s.filter;
    pattern_only.allowed_repos = {"owner/name"};
    if (auto filter = EventFilter::create(pattern_only); !filter) note("serve.tag_pattern: " + filter.error().message());
    if (s.executor != "argo" && s.executor != "local")
      note("serve.executor '" + s.executor + "' is neither argo nor local" + did_you_mean(s.executor, {"argo", "local"}));
  }

private:
  Placeholders m_placeholders;
  std::vector<std::string> m_problems;
};

}  // namespace

std::span<const ConfigSection> config_sections() { return k_sections; }

Status check_config_text(std::string_view yaml, std::string_view label, Placeholders placeholders) {
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
  // The values, each against what the commands would accept, all at once.
  ValueChecks values(placeholders);
  values.imager(*plan);
  values.run(*run);
  values.serve(*serve);
  if (values.problems().empty()) {
    // What only the whole plan can tell (kernel args, META, unverified
    // outputs by Talos version), as `plan` and `run` will judge it.
    std::string version = plan->talos_version.empty()
                              ? "v" + std::to_string(k_newest_major) + "." + std::to_string(k_newest_minor) + ".0"
                              : plan->talos_version;
    // The outputs may come from --output instead, and unverified_outputs
    // only permits disk images: a permitted output the config does not list
    // is planned here too, so that only what `plan` would refuse is named.
    PlanConfig whole = *plan;
    for (const auto& o : whole.unverified_outputs)
      if (std::find(whole.outputs.begin(), whole.outputs.end(), o) == whole.outputs.end()) whole.outputs.push_back(o);
    if (auto made = make_plan(version, whole, nullptr); !made) values.note("imager." + without_label(made.error(), label));
  }
  if (!values.problems().empty()) {
    std::string text;
    for (const auto& p : values.problems()) text += (text.empty() ? "" : "; ") + p;
    return config_error(label, text);
  }
  return {};
}

Status check_config_file(const std::filesystem::path& path, Placeholders placeholders) {
  auto text = read_small_file(path);
  if (!text) return fail(ErrorKind::config, "--config: " + text.error().message());
  return check_config_text(*text, path.string(), placeholders);
}

std::string_view example_config() { return k_example_config; }

}  // namespace sbpipe

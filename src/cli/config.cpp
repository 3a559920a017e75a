// sbpipe config init [PATH] [--force]
// sbpipe config check [PATH]
//
// As goreleaser's `init` and `check` (goreleaser.com/cmd/goreleaser_init,
// goreleaser_check): init writes the commented example, check reads a file
// the way every command does (pipeline/config_check.h) and says OK or names
// every problem.

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdlib>

#include "cli/app.h"
#include "cli/output.h"
#include "cli/run_report.h"
#include "cli/state_dir.h"
#include "core/file.h"
#include "core/systemd_credentials.h"
#include "oci/credentials.h"
#include "pipeline/config_check.h"
#include "pipeline/preflight.h"
#include "pipeline/run_config.h"
#include "pipeline/run_env.h"
#include "plan/plan.h"
#include "sigstore/trusted_root.h"

namespace sbpipe {
namespace {

constexpr const char* k_default_config = "sbpipe.yaml";

struct ConfigFlags {
  std::string path;
  std::string config;  // --config, as the other commands name the file
  bool force = false;
  bool run = false;       // --run: also what every run needs
  std::string unit;       // --unit: the systemd unit whose credentials to read
  std::string state_dir;  // --state-dir
};

// Where `cmake --install` and the docs put the unit, in systemd's order.
constexpr const char* k_unit_paths[] = {"/etc/systemd/system/sbpipe.service", "/usr/local/lib/systemd/system/sbpipe.service",
                                        "/usr/lib/systemd/system/sbpipe.service", "/lib/systemd/system/sbpipe.service"};

// A path of the config as the service sees it, made the one a shell reads.
Status map_credential(const UnitFile& unit, std::string& path) {
  auto source = credential_source(unit, path);
  if (!source) return fail(source.error());
  if (*source) {
    spdlog::info("{}: {} loads it from {}", path, unit.unit, **source);
    path = **source;
  }
  return {};
}

// What every run of this config needs (pipeline/preflight.h
// service_checks), as `serve --executor local` checks it at start. Outside
// the unit (no $CREDENTIALS_DIRECTORY), the credential paths it names are
// read where the unit loads them from.
Status run_checks(const ConfigFlags& flags, const std::filesystem::path& path) {
  auto settings = load_run_config(path);
  if (!settings) return fail(settings.error());
  std::string state = flags.state_dir;
  std::vector<PreflightRow> extra;
  if (process_getenv("CREDENTIALS_DIRECTORY").value_or("").empty()) {
    std::string unit_path = flags.unit;
    for (const char* candidate : k_unit_paths) {
      std::error_code ec;
      if (unit_path.empty() && std::filesystem::exists(candidate, ec)) unit_path = candidate;
    }
    if (!unit_path.empty()) {
      auto unit = read_unit_file(unit_path);
      if (!unit) return fail(unit.error().with_context("--unit"));
      spdlog::info("reading credentials as {} loads them ({})", unit->unit, unit_path);
      std::vector<std::string*> fields{&settings->github_token_file};
      if (settings->registry.password_file) fields.push_back(&*settings->registry.password_file);
      for (std::string* field : fields) {
        if (field->empty()) continue;
        if (auto st = map_credential(*unit, *field); !st)
          extra.push_back({"credentials", PreflightResult::fail, st.error().message()});
      }
      if (state.empty()) state = exec_start_flag(*unit, "--state-dir").value_or("");
      for (size_t i = 0; i + 1 < unit->exec_start.size(); ++i) {
        if (unit->exec_start[i] != "--webhook-secret-file") continue;
        std::string secret = unit->exec_start[i + 1];
        if (auto st = map_credential(*unit, secret); !st) {
          extra.push_back({"webhook secret", PreflightResult::fail, st.error().message()});
        } else if (auto read = read_secret_file(secret, "webhook secret"); !read) {
          extra.push_back({"webhook secret", PreflightResult::fail, read.error().message()});
        } else {
          extra.push_back({"webhook secret", PreflightResult::ok, secret});
        }
      }
    } else {
      spdlog::info("no sbpipe.service found (--unit FILE names one): credential paths are read as written");
    }
  }
  auto dir = chosen_state_dir(state, path.string());
  if (!dir) return fail(dir.error());
  RegistryInstallers installers(real_clock());
  auto rows = service_checks(*settings, *dir, PreflightEnv{real_clock(), real_process_runner(), installers});
  rows.insert(rows.end(), extra.begin(), extra.end());
  print_result_text(preflight_table(rows));
  size_t failed = 0;
  std::string names;
  for (const auto& row : rows)
    if (row.result == PreflightResult::fail) names += (failed++ == 0 ? "" : ", ") + row.check;
  if (failed != 0)
    return fail(ErrorKind::invalid_input, path.string() + ": " + std::to_string(failed) + " check(s) failed (" + names +
                                              "): serve --executor local would not start, and runs would fail");
  return {};
}

Status run_config_init(const ConfigFlags& flags) {
  std::filesystem::path path = flags.path.empty() ? k_default_config : flags.path;
  std::error_code ec;
  if (std::filesystem::symlink_status(path, ec).type() != std::filesystem::file_type::not_found && !flags.force)
    return fail(ErrorKind::config, path.string() + ": exists; pass --force to replace it with the example");
  if (auto st = write_file_atomically(path, std::string(example_config()), 0644); !st) return st;
  print_result_line("wrote " + path.string() + ": replace OWNER and the paths, then run 'sbpipe config check " + path.string() +
                    "'");
  return {};
}

// PATH or --config, else $SBPIPE_CONFIG (what --config reads from the
// environment), else ./sbpipe.yaml (what config init writes).
std::filesystem::path checked_path(const ConfigFlags& flags) {
  if (!flags.path.empty()) return flags.path;
  if (!flags.config.empty()) return flags.config;
  if (const char* env = std::getenv("SBPIPE_CONFIG"); env && *env) return env;
  return k_default_config;
}

// A keyless rule's trusted root is read as the input check will read it,
// so a file that is missing or unusable is named now, not at the next build.
Status check_trusted_root(const std::filesystem::path& path) {
  auto config = load_plan_config(path);
  if (!config) return fail(config.error());
  const auto& rules = config->image_verification;
  bool keyless = std::any_of(rules.rules.begin(), rules.rules.end(), [](const ImageRule& r) { return r.keyless.has_value(); });
  if (!keyless) return {};
  auto root = load_trusted_root(rules.trusted_root);
  if (!root) return fail(root.error().with_context(path.string() + ": imager.image_verification.trusted_root"));
  return {};
}

Status run_config_check(const ConfigFlags& flags) {
  auto path = checked_path(flags);
  if (auto st = check_config_file(path, Placeholders::refuse); !st) return st;
  if (auto st = check_trusted_root(path); !st) return st;
  if (flags.run) return run_checks(flags, path);
  print_result_line(path.string() + ": OK");
  return {};
}

}  // namespace

void add_config(CLI::App& app, CommandAction& action) {
  CLI::App* config = app.add_subcommand("config", "The sbpipe YAML config file: write an example, check one");
  config->require_subcommand(1);

  auto init_flags = std::make_shared<ConfigFlags>();
  CLI::App* init = config->add_subcommand("init", "Write the commented example config (paths to secrets, never a secret)");
  init->add_option("PATH", init_flags->path, std::string("Where to write it (default: ") + k_default_config + ")");
  init->add_flag("--force", init_flags->force, "Replace an existing file");
  init->callback([init_flags, &action] { action = [init_flags] { return run_config_init(*init_flags); }; });

  auto check_flags = std::make_shared<ConfigFlags>();
  CLI::App* check = config->add_subcommand(
      "check", "Check a config as every command reads it: names every unknown key and section, and wrong types");
  check->add_option("PATH", check_flags->path,
                    std::string("The config file (default: --config, else $SBPIPE_CONFIG, else ") + k_default_config + ")");
  check->add_option("--config", check_flags->config, "The config file, as the other commands take it");
  check->add_flag("--run", check_flags->run,
                  "Also check what every run needs (keys, certificate, PCR key, token, registry credentials, engine, state "
                  "dir, disk space), as serve --executor local does at start; credentials as the systemd unit loads them");
  check->add_option("--unit", check_flags->unit,
                    "With --run: the systemd unit whose LoadCredential= and ExecStart= to follow (default: the installed "
                    "sbpipe.service)");
  check->add_option("--state-dir", check_flags->state_dir,
                    "With --run: the state directory (default: the unit's --state-dir, else run.state_dir, else the default)");
  check->callback([check_flags, &action] { action = [check_flags] { return run_config_check(*check_flags); }; });
}

}  // namespace sbpipe

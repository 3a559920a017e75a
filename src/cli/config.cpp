// sbpipe config init [PATH] [--force]
// sbpipe config check [PATH]
//
// As goreleaser's `init` and `check` (goreleaser.com/cmd/goreleaser_init,
// goreleaser_check): init writes the commented example, check reads a file
// the way every command does (pipeline/config_check.h) and says OK or names
// every problem.

#include <CLI/CLI.hpp>

#include <cstdlib>

#include "cli/app.h"
#include "cli/output.h"
#include "core/file.h"
#include "pipeline/config_check.h"

namespace sbpipe {
namespace {

constexpr const char* k_default_config = "sbpipe.yaml";

struct ConfigFlags {
  std::string path;
  std::string config;  // --config, as the other commands name the file
  bool force = false;
};

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

Status run_config_check(const ConfigFlags& flags) {
  auto path = checked_path(flags);
  if (auto st = check_config_file(path); !st) return st;
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
  check->callback([check_flags, &action] { action = [check_flags] { return run_config_check(*check_flags); }; });
}

}  // namespace sbpipe

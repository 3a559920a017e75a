#pragma once
// The sbpipe command line: global flags, one subcommand per file in src/cli,
// and the mapping from errors to exit codes (0 ok, 1 failed, 2 usage/config).

#include <functional>

#include "core/error.h"

namespace CLI {
class App;
}

namespace sbpipe {

// What a subcommand runs once its flags are parsed and logging is set up.
using CommandAction = std::function<Status()>;

// Each subcommand file provides one of these: it adds the subcommand and its
// flags to `app`, and stores the action to run into `action` when chosen.
void add_push_installer(CLI::App& app, CommandAction& action);
void add_verify(CLI::App& app, CommandAction& action);
void add_verify_release(CLI::App& app, CommandAction& action);
void add_keys_check(CLI::App& app, CommandAction& action);
void add_plan(CLI::App& app, CommandAction& action);
void add_pxe_extract(CLI::App& app, CommandAction& action);
void add_upload_assets(CLI::App& app, CommandAction& action);
void add_finalize(CLI::App& app, CommandAction& action);
void add_serve(CLI::App& app, CommandAction& action);
void add_submit(CLI::App& app, CommandAction& action);
void add_run(CLI::App& app, CommandAction& action);
void add_completion(CLI::App& app, CommandAction& action);
void add_registry(CLI::App& app, CommandAction& action);
void add_config(CLI::App& app, CommandAction& action);
void add_runs(CLI::App& app, CommandAction& action);
void add_manifests(CLI::App& app, CommandAction& action);

// Runs sbpipe; returns the process exit status. Catches every exception.
int sbpipe_main(int argc, char** argv);

}  // namespace sbpipe

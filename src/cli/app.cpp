#include "cli/app.h"

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include "cli/output.h"
#include "cli/usage.h"
#include "core/log.h"
#include "core/redact.h"

namespace sbpipe {

int sbpipe_main(int argc, char** argv) {
  CLI::App app("sbpipe: release pipeline for Talos Linux images signed for UEFI SecureBoot", "sbpipe");
  app.require_subcommand(0, 1);  // bare `sbpipe` prints usage
  app.fallthrough();             // global flags may follow the subcommand
  // Not CLI11's version flag: that one answers after any subcommand too
  // (`sbpipe run --version v1.9.0` printed the version and built nothing).
  bool version = false;
  app.add_flag("--version", version, "Print sbpipe's version and exit (the same as 'sbpipe version')");
  std::string log_level = "info";
  std::string log_format = "text";
  bool validate_only = false;
  app.add_option("--log-level", log_level, "How much to log")
      ->capture_default_str()
      ->type_name("{trace,debug,info,warn,error,off}");
  app.add_option("--log-format", log_format, "Logs on stderr as text lines or JSON records")
      ->capture_default_str()
      ->type_name("{text,json}");
  app.add_flag("--validate-only", validate_only, "Parse and check the command line, then exit without doing anything");

  CommandAction action;
  add_push_installer(app, action);
  add_verify(app, action);
  add_verify_release(app, action);
  add_keys_check(app, action);
  add_plan(app, action);
  add_pxe_extract(app, action);
  add_upload_assets(app, action);
  add_finalize(app, action);
  add_serve(app, action);
  add_submit(app, action);
  add_run(app, action);
  add_runs(app, action);
  add_manifests(app, action);
  add_registry(app, action);
  add_config(app, action);
  add_completion(app, action);
  add_version_command(app, action);
  add_help_command(app, action);
  finish_command_tree(app);

  auto usage_error = [](const std::string& text) {
    std::fprintf(stderr, "sbpipe: %s\n", redact(text).c_str());
    return 2;
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // A typo explains a "--ref is required" better than CLI11 does.
    if (auto problem = leftover_problem(app)) return usage_error(problem->text);
    return usage_error(std::string(e.what()) + "\n\n" + help_pointer(app));
  }
  if (auto problem = leftover_problem(app)) return usage_error(problem->text);
  if (auto help = bare_group_help(app)) {  // `sbpipe keys`: its commands, as `gh release` lists them
    print_result_text(*help);
    return 0;
  }
  if (app.get_subcommands().empty()) {
    if (version) {
      print_result_line(version_line());
      return 0;
    }
    print_result_text(app.help());
    return 0;
  }

  auto format = parse_log_format(log_format);
  Status logging = format ? setup_logging(*format, log_level) : Status(fail(format.error()));
  if (!logging) {
    std::fprintf(stderr, "sbpipe: %s\n", redact(logging.error().message()).c_str());
    return 2;
  }
  if (validate_only) return 0;

  try {
    Status result = action();
    if (!result) {
      spdlog::error("{}", result.error().message());
      return result.error().exit_code();
    }
    return 0;
  } catch (const std::exception& e) {
    spdlog::critical("internal error: {}", e.what());
    return 1;
  }
}

}  // namespace sbpipe

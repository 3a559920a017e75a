#include "cli/app.h"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <exception>

#include "core/log.h"
#include "core/redact.h"

namespace sbpipe {

int sbpipe_main(int argc, char** argv) {
  CLI::App app("sbpipe: release pipeline for Talos Linux images signed for UEFI SecureBoot", "sbpipe");
  app.require_subcommand(1);
  app.fallthrough();  // global flags may follow the subcommand
  app.set_version_flag("--version", std::string("sbpipe ") + SBPIPE_VERSION);
  std::string log_level = "info";
  std::string log_format = "text";
  bool validate_only = false;
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")->capture_default_str();
  app.add_option("--log-format", log_format, "text or json (logs go to stderr)")->capture_default_str();
  app.add_flag("--validate-only", validate_only, "Parse and check the command line, then exit without doing anything");

  CommandAction action;
  add_push_installer(app, action);
  add_verify(app, action);
  add_keys_check(app, action);
  add_plan(app, action);
  add_pxe_extract(app, action);
  add_upload_assets(app, action);
  add_finalize(app, action);
  add_serve(app, action);
  add_submit(app, action);
  add_run(app, action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "sbpipe: %s\n", redact(e.what()).c_str());
    return 2;
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

} // namespace sbpipe

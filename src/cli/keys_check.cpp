// sbpipe keys check DIR [--warn-days N] [--format text|json]

#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "cli/output.h"
#include "core/clock.h"
#include "core/table.h"
#include "secureboot/keys.h"

namespace sbpipe {
namespace {

struct KeysFlags {
  std::string dir;
  int warn_days = 60;
  std::string format = "text";
  std::string write_public;
};

Status run_keys_check(const KeysFlags& flags) {
  if (auto st = check_choice("--format", flags.format, {"text", "json", "yaml"}); !st) return st;
  auto rows = check_key_set(flags.dir, KeysCheckOptions{flags.warn_days, real_clock().wall_now(), flags.write_public});
  size_t failed = 0, warned = 0;
  for (const auto& r : rows) {
    failed += r.level == CheckLevel::fail ? 1 : 0;
    warned += r.level == CheckLevel::warn ? 1 : 0;
  }
  if (flags.format != "text") {
    nlohmann::json out{{"ok", failed == 0}, {"checks", nlohmann::json::array()}};
    for (const auto& r : rows)
      out["checks"].push_back({{"item", r.item}, {"check", r.check}, {"level", level_name(r.level)}, {"detail", r.detail}});
    print_structured_result(flags.format, out);
  } else {
    Table table({"ITEM", "CHECK", "RESULT", "DETAIL"});
    for (const auto& r : rows) table.add_row({r.item, r.check, std::string(level_name(r.level)), r.detail});
    print_result_text(table.render());
  }
  if (failed != 0)
    return fail(ErrorKind::invalid_input, "keys check: " + std::to_string(failed) + " check(s) failed, " +
                                              std::to_string(warned) + " warning(s) in " + flags.dir);
  return {};
}

}  // namespace

void add_keys_check(CLI::App& app, CommandAction& action) {
  auto flags = std::make_shared<KeysFlags>();
  CLI::App* keys = app.add_subcommand("keys", "Signing-key set tools");
  keys->require_subcommand(1);
  CLI::App* cmd =
      keys->add_subcommand("check", "Check the signing-key set a workflow mounts at /secureboot (prints no key material)");
  cmd->add_option("DIR", flags->dir,
                  "Directory with uki-signing-key.pem, uki-signing-cert.pem, pcr-signing-key.pem [, PK/KEK/db.auth]")
      ->required();
  cmd->add_option("--write-public", flags->write_public,
                  "Also write pcr-signing-key.pub.pem (the PCR key's public half, for verify --pcr-pubkey) into this directory");
  cmd->add_option("--warn-days", flags->warn_days, "Warn when the UKI certificate expires within this many days")
      ->capture_default_str()
      ->check(CLI::Range(0, 36500));
  add_format_flag(*cmd, flags->format, {"text", "json", "yaml"}, "Report on stdout");
  cmd->callback([flags, &action] { action = [flags] { return run_keys_check(*flags); }; });
}

}  // namespace sbpipe

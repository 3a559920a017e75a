// sbpipe keys check DIR [--warn-days N] [--format text|json] [--sign-key KEY]

#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "cli/output.h"
#include "core/clock.h"
#include "core/file.h"
#include "core/table.h"
#include "secureboot/keys.h"
#include "sigstore/keys.h"

namespace sbpipe {
namespace {

struct KeysFlags {
  std::string dir;
  int warn_days = 60;
  std::string format = "text";
  std::string write_public;
  std::string sign_key;
};

// The image signing key's rows (push-installer --sign-key): it loads as a
// key sbpipe signs with, and, with --write-public, its public half.
void check_sign_key(const KeysFlags& flags, std::vector<KeyCheck>& rows) {
  const std::string item = std::filesystem::path(flags.sign_key).filename().string();
  auto key = SigningKey::load(flags.sign_key, "--sign-key");
  if (!key) {
    rows.push_back(KeyCheck{item, "image signing key", CheckLevel::fail, key.error().message()});
    return;
  }
  const PublicKey& pub = key->public_key();
  rows.push_back(KeyCheck{item, "image signing key", CheckLevel::ok,
                          pub.description() + ", public key sha256:" + pub.fingerprint().substr(0, 16) + "..."});
  if (flags.write_public.empty()) return;
  auto path = std::filesystem::path(flags.write_public) / "image-signing-key.pub.pem";
  auto st = write_file_atomically(path, pub.pem());
  rows.push_back(KeyCheck{path.filename().string(), "written", st ? CheckLevel::ok : CheckLevel::fail,
                          st ? path.string() : st.error().message()});
}

Status run_keys_check(const KeysFlags& flags) {
  if (auto st = check_choice("--format", flags.format, {"text", "json", "yaml"}); !st) return st;
  auto rows = check_key_set(flags.dir, KeysCheckOptions{flags.warn_days, real_clock().wall_now(), flags.write_public});
  if (!flags.sign_key.empty()) check_sign_key(flags, rows);
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
  cmd->add_option("--sign-key", flags->sign_key,
                  "Also check the image signing key (push-installer --sign-key); with --write-public, write "
                  "image-signing-key.pub.pem");
  cmd->add_option("--warn-days", flags->warn_days, "Warn when the UKI certificate expires within this many days")
      ->capture_default_str()
      ->check(CLI::Range(0, 36500));
  add_format_flag(*cmd, flags->format, {"text", "json", "yaml"}, "Report on stdout");
  cmd->callback([flags, &action] { action = [flags] { return run_keys_check(*flags); }; });
}

}  // namespace sbpipe

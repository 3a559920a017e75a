// sbpipe verify-release DIR --key PUB [--format text|json]

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "cli/output.h"
#include "core/table.h"
#include "release/release_signatures.h"
#include "sigstore/keys.h"

namespace sbpipe {
namespace {

struct VerifyReleaseFlags {
  std::string dir;
  std::string key;
  std::string format = "text";
};

Status run_verify_release(const VerifyReleaseFlags& flags) {
  if (auto st = check_choice("--format", flags.format, {"text", "json", "yaml"}); !st) return st;
  auto key = PublicKey::load(flags.key, "--key");
  if (!key) return fail(key.error());
  std::error_code ec;
  if (!std::filesystem::is_directory(flags.dir, ec)) return fail(ErrorKind::usage, "DIR " + flags.dir + ": not a directory");
  auto rows = verify_release_dir(flags.dir, *key);
  size_t failed = 0;
  for (const auto& r : rows) failed += r.ok || !r.checked ? 0 : 1;
  if (flags.format != "text") {
    nlohmann::json out{{"ok", failed == 0}, {"key", key->fingerprint()}, {"checks", nlohmann::json::array()}};
    for (const auto& r : rows)
      out["checks"].push_back({{"name", r.name}, {"check", r.check}, {"ok", r.ok}, {"checked", r.checked}, {"detail", r.detail}});
    print_structured_result(flags.format, out);
  } else {
    Table table({"FILE", "CHECK", "RESULT", "DETAIL"});
    for (const auto& r : rows) table.add_row({r.name, r.check, !r.checked ? "UNCHECKED" : r.ok ? "ok" : "FAIL", r.detail});
    print_result_text(table.render());
  }
  if (failed != 0)
    return fail(ErrorKind::invalid_input, "verify-release: " + std::to_string(failed) + " of " + std::to_string(rows.size()) +
                                              " checks failed in " + flags.dir);
  return {};
}

}  // namespace

void add_verify_release(CLI::App& app, CommandAction& action) {
  auto flags = std::make_shared<VerifyReleaseFlags>();
  CLI::App* cmd = app.add_subcommand(
      "verify-release",
      "Check a downloaded release with the public key: every asset against its sigstore bundle and the checksum files");
  cmd->add_option("DIR", flags->dir, "Directory holding the release's assets, checksum files and NAME.sigstore.json bundles")
      ->required();
  cmd->add_option("--key", flags->key, "The owner's public key (PEM), the one in the release notes' ImageVerificationConfig")
      ->required();
  add_format_flag(*cmd, flags->format, {"text", "json", "yaml"}, "Report on stdout");
  cmd->callback([flags, &action] { action = [flags] { return run_verify_release(*flags); }; });
}

}  // namespace sbpipe

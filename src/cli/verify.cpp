// sbpipe verify PATH... --cert CERT.pem [--require-cmdline W]... [--forbid-cmdline W]...
//               [--pcr-pubkey PEM] [--format text|json]

#include <CLI/CLI.hpp>

#include "cli/app.h"
#include "cli/output.h"
#include "pipeline/steps.h"

namespace sbpipe {
namespace {

struct VerifyFlags {
  std::vector<std::string> paths;
  std::string cert;
  std::vector<std::string> require_cmdline;
  std::vector<std::string> forbid_cmdline;
  std::string pcr_pubkey;
  std::string format = "text";
};

Status run_verify(const VerifyFlags& flags) {
  if (auto st = check_choice("--format", flags.format, {"text", "json"}); !st) return st;
  auto options = verify_options(VerifyRequest{flags.cert, flags.require_cmdline, flags.forbid_cmdline, flags.pcr_pubkey});
  if (!options) return fail(options.error());
  auto verdicts = verify_inputs(flags.paths, *options);
  if (!verdicts) return fail(verdicts.error());
  if (flags.format == "json") {
    print_result_line(verdicts_json(*verdicts).dump());
  } else {
    print_result_text(verdicts_text(*verdicts));
  }
  return verdicts_status(*verdicts);
}

} // namespace

void add_verify(CLI::App& app, CommandAction& action) {
  auto flags = std::make_shared<VerifyFlags>();
  CLI::App* cmd = app.add_subcommand("verify", "Check that every EFI binary is signed by the UKI certificate and boots with a safe cmdline");
  cmd->add_option("PATH", flags->paths, "Installer tarball or OCI layout, ISO image, EFI binary, or a directory of those")->required();
  cmd->add_option("--cert", flags->cert, "uki-signing-cert.pem: the signer must be this certificate or issued by it")->required();
  cmd->add_option("--require-cmdline", flags->require_cmdline,
                  "Word every UKI cmdline must hold (repeatable; replaces the default lockdown=integrity)");
  cmd->add_option("--forbid-cmdline", flags->forbid_cmdline,
                  "Word no UKI cmdline may hold (repeatable; replaces the default lockdown=confidentiality)");
  cmd->add_option("--pcr-pubkey", flags->pcr_pubkey, "PEM public key that every UKI's .pcrpkey must be");
  cmd->add_option("--format", flags->format, "text or json")->capture_default_str();
  cmd->callback([flags, &action] { action = [flags] { return run_verify(*flags); }; });
}

} // namespace sbpipe

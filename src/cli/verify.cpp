// sbpipe verify PATH... --cert CERT.pem [--require-cmdline W]... [--forbid-cmdline W]...
//               [--pcr-pubkey PEM] [--format text|json]

#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "cli/output.h"
#include "core/file.h"
#include "core/temp_dir.h"
#include "secureboot/verify.h"
#include "secureboot/x509.h"

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

// Reads a PEM file meant to hold public material only. A file that holds a
// private key is refused unparsed: verify never handles private keys.
Result<std::string> read_public_pem(const std::string& path, const std::string& flag) {
  auto text = read_small_file(path);
  if (!text) return fail(ErrorKind::usage, flag + " " + path + ": " + text.error().message());
  if (holds_private_key(*text))
    return fail(ErrorKind::usage, flag + " " + path + ": holds a private key; pass the public certificate or key only");
  return text;
}

nlohmann::json to_json(const Verdict& v) {
  nlohmann::json j{{"path", v.path},       {"role", v.role},       {"ok", v.ok},
                   {"reason", v.reason},   {"machine", v.machine}, {"authenticode_sha256", v.sha256},
                   {"signer", v.signer},   {"pcrsig", v.has_pcrsig}, {"pcrpkey", v.has_pcrpkey}};
  j["cmdline"] = v.cmdline ? nlohmann::json(*v.cmdline) : nlohmann::json();
  j["os_version"] = v.os_version ? nlohmann::json(*v.os_version) : nlohmann::json();
  return j;
}

Status run_verify(const VerifyFlags& flags) {
  if (auto st = check_choice("--format", flags.format, {"text", "json"}); !st) return st;
  VerifyOptions options;
  auto cert_text = read_public_pem(flags.cert, "--cert");
  if (!cert_text) return fail(cert_text.error());
  auto certs = parse_pem_certificates(*cert_text, "--cert " + flags.cert);
  if (!certs) return fail(ErrorKind::usage, certs.error().message());
  for (const auto& c : *certs) options.trusted.push_back(c.der);
  if (!flags.require_cmdline.empty()) options.require_cmdline = flags.require_cmdline;
  if (!flags.forbid_cmdline.empty()) options.forbid_cmdline = flags.forbid_cmdline;
  if (!flags.pcr_pubkey.empty()) {
    auto key = read_public_pem(flags.pcr_pubkey, "--pcr-pubkey");
    if (!key) return fail(key.error());
    options.pcr_public_key = *key;
  }

  auto scratch = ScratchDir::create("sbpipe-verify");
  if (!scratch) return fail(scratch.error());
  auto binaries = find_efi_binaries(flags.paths, scratch->path());
  if (!binaries) return fail(binaries.error());

  std::vector<Verdict> verdicts;
  for (const auto& binary : *binaries) verdicts.push_back(verify_binary(binary, options));
  size_t failed = std::count_if(verdicts.begin(), verdicts.end(), [](const Verdict& v) { return !v.ok; });

  if (flags.format == "json") {
    nlohmann::json out{{"ok", failed == 0}, {"binaries", nlohmann::json::array()}};
    for (const auto& v : verdicts) out["binaries"].push_back(to_json(v));
    print_result_line(out.dump());
  } else {
    size_t width = 0;
    for (const auto& v : verdicts) width = std::max(width, v.path.size());
    for (const auto& v : verdicts) {
      std::string line = v.path + std::string(width - v.path.size() + 2, ' ');
      line += v.role + std::string(v.role.size() < 13 ? 13 - v.role.size() : 1, ' ');
      line += v.ok ? "ok    " : "FAIL  ";
      print_result_line(line + v.reason);
    }
  }
  if (failed != 0)
    return fail(ErrorKind::invalid_input, std::to_string(failed) + " of " + std::to_string(verdicts.size()) +
                                              " EFI binaries failed verification");
  return {};
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

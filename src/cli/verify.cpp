// sbpipe verify (PATH... | --plan PLAN --out DIR) [--cert CERT.pem | --db DB] [--dbx DBX]
//               [--require-cmdline W]... [--forbid-cmdline W]...
//               [--pcr-pubkey PEM] [--format text|json]

#include <CLI/CLI.hpp>

#include <algorithm>

#include "cli/app.h"
#include "cli/output.h"
#include "cli/plan_input.h"
#include "cli/registry_flags.h"
#include "pipeline/continuity.h"
#include "pipeline/steps.h"
#include "plan/published.h"

namespace sbpipe {
namespace {

struct VerifyFlags {
  std::vector<std::string> paths;
  PlanInputFlags plan;
  std::string cert;
  std::string db;
  std::string dbx;
  std::vector<std::string> require_cmdline;
  std::vector<std::string> forbid_cmdline;
  std::string pcr_pubkey;
  std::string talos_version;
  std::string format = "text";
  std::string previous_ref;
  bool allow_key_rotation = false;
  int previous_timeout_ms = 600'000;
  bool plain_http = false;
  std::string ca_file;
  std::string username;
  std::string password_file;
  RegistryAccess access;  // --authfile, --insecure
};

// The version of the build, from its UKIs' .osrel.
std::string build_version(const std::vector<Verdict>& verdicts) {
  for (const auto& v : verdicts)
    if (v.os_version) return *v.os_version;
  return "";
}

// One report line for continuity.
Verdict continuity_line(const ContinuityReport& report, const std::string& previous_ref, bool allowed) {
  Verdict line;
  line.role = "continuity";
  line.path = report.previous.empty() ? previous_ref : report.previous;
  line.ok = report.ok() || allowed;
  if (!report.first_release && report.previous.empty()) {  // nothing was compared
    line.ok = false;
    line.reason = "not checked: no UKI among the inputs to compare with the previous release";
  } else if (report.first_release)
    line.reason = "no earlier release to compare with (first release)";
  else if (report.ok())
    line.reason = "same PCR key and UKI signing certificate as the previous release";
  else {
    for (const auto& c : report.changes) line.reason += (line.reason.empty() ? "" : "; ") + c;
    line.reason += allowed ? " (allowed: --allow-key-rotation)" : "; " + rotation_advice();
  }
  return line;
}

// The closing status: how many EFI binaries failed (the continuity row is
// no binary), and whether continuity failed or could not be checked.
Status verify_status(const std::vector<Verdict>& verdicts) {
  size_t binaries = 0, failed = 0;
  std::string continuity;
  for (const auto& v : verdicts) {
    if (v.role == "continuity") {
      if (!v.ok) continuity = v.reason.starts_with("not checked") ? "continuity not checked" : "continuity failed";
      continue;
    }
    ++binaries;
    failed += v.ok ? 0 : 1;
  }
  if (failed == 0 && continuity.empty()) return {};
  std::string text =
      failed == 0 ? "" : std::to_string(failed) + " of " + std::to_string(binaries) + " EFI binaries failed verification";
  if (!continuity.empty()) text += (text.empty() ? "" : "; ") + continuity;
  return fail(ErrorKind::invalid_input, text);
}

Status run_verify(const VerifyFlags& flags) {
  if (auto st = check_choice("--format", flags.format, {"text", "json", "yaml"}); !st) return st;
  VerifyRequest request{flags.cert, flags.require_cmdline, flags.forbid_cmdline, flags.pcr_pubkey};
  request.talos_version = flags.talos_version;
  request.db_file = flags.db;
  request.dbx_file = flags.dbx;
  auto plan = load_plan_input(flags.plan, flags.paths, "PATH");
  if (!plan) return fail(plan.error());
  std::vector<std::string> paths = flags.paths;
  if (*plan) {
    paths = gate_inputs(**plan, flags.plan.out);
    // The plan's version is the build's: the Argo verify step checks it as `run` does.
    if (request.talos_version.empty()) request.talos_version = (*plan)->version;
    if (paths.empty()) return fail(ErrorKind::invalid_input, flags.plan.plan + ": the plan has no SecureBoot output to verify");
  }
  auto verdicts = verify_build(paths, request);
  if (!verdicts) return fail(verdicts.error());
  if (!flags.previous_ref.empty()) {
    RegistryAccess access = flags.access;
    access.username = flags.username;
    access.plain_http = flags.plain_http;
    access.ca_file = flags.ca_file;
    if (!flags.password_file.empty()) access.password_file = flags.password_file;
    size_t failed = std::count_if(verdicts->begin(), verdicts->end(), [](const Verdict& v) { return !v.ok; });
    if (failed > 0) {
      // Continuity compares a build that passed; a row that did not run is never ok.
      Verdict line;
      line.role = "continuity";
      line.path = flags.previous_ref;
      line.reason = "not checked: " + std::to_string(failed) + " EFI binar" + (failed == 1 ? "y" : "ies") +
                    " failed verification, and the previous release is compared with a build that passes";
      verdicts->push_back(line);
    } else {
      ContinuityRequest continuity{flags.previous_ref, build_version(*verdicts), access};
      continuity.pull_timeout = std::chrono::milliseconds(flags.previous_timeout_ms);
      auto report = check_continuity(*verdicts, continuity);
      if (!report) return fail(report.error().with_context("--previous-ref"));
      verdicts->push_back(continuity_line(*report, flags.previous_ref, flags.allow_key_rotation));
    }
  }
  if (flags.format != "text") {
    print_structured_result(flags.format, verdicts_json(*verdicts));
  } else {
    print_result_text(verdicts_text(*verdicts));
  }
  return verify_status(*verdicts);
}

}  // namespace

void add_verify(CLI::App& app, CommandAction& action) {
  auto flags = std::make_shared<VerifyFlags>();
  CLI::App* cmd =
      app.add_subcommand("verify", "Check that every EFI binary is signed by the UKI certificate and boots with a safe cmdline");
  cmd->add_option("PATH", flags->paths,
                  "Installer tarball or OCI layout, ISO image, disk or FAT image, EFI binary, or a directory of those");
  add_plan_input_flags(*cmd, flags->plan, "the files the gate checks (every SecureBoot output)");
  cmd->add_option("--cert", flags->cert,
                  "uki-signing-cert.pem: a db of this certificate (the signer must be it or issued by it)");
  cmd->add_option("--db", flags->db,
                  "The db nodes hold (db.auth, an .esl or PEM certificates: certificates and SHA-256 image digests); "
                  "default for an ISO: its own loader/keys/auto/db.auth");
  cmd->add_option("--dbx", flags->dbx, "The dbx nodes hold (.auth, .esl): certificates and digests that forbid an image");
  cmd->add_option("--require-cmdline", flags->require_cmdline,
                  "Word every UKI cmdline must hold (repeatable; replaces the default lockdown=integrity)");
  cmd->add_option("--forbid-cmdline", flags->forbid_cmdline,
                  "Word no UKI cmdline may hold (repeatable; replaces the default lockdown=confidentiality)");
  cmd->add_option("--pcr-pubkey", flags->pcr_pubkey, "PEM public key that every UKI's .pcrpkey must be");
  cmd->add_option("--talos-version", flags->talos_version,
                  "Talos version (e.g. v1.14.0) every UKI's .osrel VERSION_ID must name (default with --plan: the plan's)");
  cmd->add_option("--previous-ref", flags->previous_ref,
                  "The previous release's installer (REGISTRY/REPO[:TAG][@DIGEST]; without a tag, the highest version below "
                  "this build's): its PCR key and UKI signer must be this build's");
  cmd->add_option("--previous-timeout-ms", flags->previous_timeout_ms,
                  "Time the pull of the --previous-ref installer may take in all (default 600000)")
      ->check(CLI::Range(1000, 86'400'000));
  cmd->add_flag("--allow-key-rotation", flags->allow_key_rotation,
                "Report a changed PCR key or UKI signer instead of failing (an intended rotation)");
  cmd->add_flag("--plain-http", flags->plain_http, "Speak HTTP to the --previous-ref registry");
  cmd->add_option("--ca-file,--registry-ca-file", flags->ca_file, "Extra CA bundle for the --previous-ref registry");
  cmd->add_option("--username,--registry-username", flags->username,
                  "Registry user name for --previous-ref (with --password-file)");
  cmd->add_option("--password-file,--registry-password-file", flags->password_file,
                  "File holding the registry password or token");
  add_registry_access_flags(*cmd, flags->access);
  add_format_flag(*cmd, flags->format, {"text", "json", "yaml"}, "Report on stdout");
  cmd->callback([flags, &action] { action = [flags] { return run_verify(*flags); }; });
}

}  // namespace sbpipe

#include "pipeline/preflight.h"

#include <filesystem>

#include "core/file.h"
#include "pipeline/continuity.h"
#include "secureboot/keys.h"
#include "secureboot/x509.h"
#include "sigstore/keys.h"

namespace sbpipe {
namespace fs = std::filesystem;

namespace {

using Row = PreflightRow;
constexpr auto k_ok = PreflightResult::ok;
constexpr auto k_warn = PreflightResult::warn;
constexpr auto k_fail = PreflightResult::fail;
constexpr auto k_skip = PreflightResult::skip;

// The key set as `keys check` sees it, summed up in one row: every failed
// item named (warnings when nothing failed).
Row keys_row(const RunSettings& settings, const PreflightEnv& env) {
  auto checks = check_key_set(settings.keys_dir, KeysCheckOptions{60, env.clock.wall_now(), {}});
  std::string failed, warned;
  for (const auto& c : checks) {
    std::string line = c.item + " " + c.check + ": " + c.detail;
    if (c.level == CheckLevel::fail) failed += (failed.empty() ? "" : "; ") + line;
    if (c.level == CheckLevel::warn) warned += (warned.empty() ? "" : "; ") + line;
  }
  const std::string see = " (sbpipe keys check " + settings.keys_dir + " shows every check)";
  if (!failed.empty()) return {"keys", k_fail, settings.keys_dir + ": " + failed + see};
  if (!warned.empty()) return {"keys", k_warn, settings.keys_dir + ": " + warned + see};
  return {"keys", k_ok, settings.keys_dir + ": " + std::to_string(checks.size()) + " checks passed"};
}

// The certificate verify checks against: present, a certificate and no
// private key, and (when run.cert_file names another file than the key
// set's) the certificate of the key imager signs with.
Row certificate_row(const RunSettings& settings) {
  if (auto st = check_cert_input(settings); !st) return {"certificate", k_fail, st.error().message()};
  const std::string path = cert_path(settings);
  const std::string setting = settings.cert_file.empty() ? "run.keys_dir: " : "run.cert_file: ";
  auto text = read_small_file(path);
  if (!text) return {"certificate", k_fail, setting + text.error().message()};
  if (holds_private_key(*text))
    return {"certificate", k_fail, setting + path + " holds a private key; verify reads only the public certificate"};
  auto certs = parse_pem_certificates(*text, path);
  if (!certs) return {"certificate", k_fail, setting + certs.error().message()};
  fs::path signer = fs::path(settings.keys_dir) / "uki-signing-cert.pem";
  std::error_code ec;
  if (!settings.cert_file.empty() && !fs::equivalent(path, signer, ec) && fs::is_regular_file(signer, ec)) {
    auto theirs = read_small_file(signer);
    auto same = theirs ? same_public_key(*text, *theirs) : Result<bool>(fail(theirs.error()));
    if (!same) return {"certificate", k_fail, setting + same.error().message()};
    if (!*same)
      return {"certificate", k_fail,
              setting + path + " (" + certs->front().subject + ") is not the certificate of the key imager signs with (" +
                  signer.string() + "): verify would refuse every UKI"};
  }
  return {"certificate", k_ok, path + ": " + certs->front().subject + ", valid until " + format_date(certs->front().not_after)};
}

Row pcr_row(const RunSettings& settings) {
  if (auto st = check_pcr_public_input(settings); !st) return {"pcr public key", k_fail, st.error().message()};
  auto text = read_small_file(pcr_public_path(settings));
  if (!text) return {"pcr public key", k_fail, text.error().message()};
  if (holds_private_key(*text))
    return {"pcr public key", k_fail, pcr_public_path(settings) + " holds a private key; verify reads only the public half"};
  return {"pcr public key", k_ok, pcr_public_path(settings)};
}

// The key the installer and the release files are signed with: readable,
// and one sbpipe can sign with. Without one, nothing is signed, which a
// node with an ImageVerificationConfig rule for the repository refuses.
Row signing_row(const RunSettings& settings) {
  if (settings.sign_key.empty())
    return {
        "signing key", k_warn,
        "no run.sign_key: the installer and release files are not signed, and a node whose ImageVerificationConfig "
        "has a rule for " +
            (settings.installer_repository.empty() ? std::string("the installer repository") : settings.installer_repository) +
            " refuses the upgrade (docs/signatures.md)"};
  auto key = SigningKey::load(settings.sign_key, "run.sign_key");
  if (!key) return {"signing key", k_fail, key.error().message()};
  return {"signing key", k_ok, settings.sign_key + ": public key " + key->public_key().fingerprint()};
}

Row access_row(const PreflightEnv& env) {
  if (!env.release) return {"publish access", k_fail, env.release_problem};
  auto access = env.release->check_access();
  if (!access) return {"publish access", k_fail, access.error().message()};
  return {"publish access", k_ok, *access};
}

// The release run publishes to: there, and a pre-release or a draft.
Row release_row(const PreflightEnv& env) {
  if (!env.release) return {"release", k_skip, "needs publish access"};
  auto info = env.release->open(OpenFor::publish);
  if (!info) return {"release", k_fail, info.error().message()};
  const std::string what = env.release->what();
  if (info->state == ReleaseState::released)
    return {"release", k_fail, what + " is already a full release; run publishes pre-releases and drafts only"};
  return {"release", k_ok, what + " is a " + std::string(state_name(info->state))};
}

Row registry_row(const std::string& tag, const RunSettings& settings, const PreflightEnv& env) {
  if (settings.installer_repository.empty()) return {"registry", k_skip, "no run.installer_repository: nothing is pushed"};
  std::string ref = settings.installer_repository + ":" + tag;
  if (auto st = env.installers.check_push(ref, settings.registry); !st) return {"registry", k_fail, st.error().message()};
  return {"registry", k_ok,
          settings.installer_repository + " accepts a push with these credentials (upload opened and cancelled)"};
}

// The program imager runs through; a container engine must also answer.
Row engine_row(const RunSettings& settings, const PreflightEnv& env) {
  if (settings.imager_command.empty()) return {"imager engine", k_fail, "run.imager_command is empty"};
  const std::string& program = settings.imager_command.front();
  auto found = env.processes.find_program(program);
  if (!found)
    return {"imager engine", k_fail,
            program + ": not found" + (program.find('/') == std::string::npos ? " on PATH" : "") +
                " (the first word of run.imager_command: install a container engine such as docker or podman, or point "
                "run.imager_command at imager)"};
  std::string name = fs::path(program).filename().string();
  if (name != "docker" && name != "podman" && name != "nerdctl") return {"imager engine", k_ok, *found};
  auto status = env.processes.run(ChildSpec{{program, "info"}, secret_env_names(), {}, fs::path("/dev/null")});
  if (!status) return {"imager engine", k_fail, program + " info: " + status.error().message()};
  if (*status != 0)
    return {"imager engine", k_fail,
            program + " info exited with status " + std::to_string(*status) +
                ": the engine does not answer (is its daemon running, and may this user reach its socket?)"};
  return {"imager engine", k_ok, *found + " answers (info)"};
}

// What continuity (continuity.h) will compare this build with.
Row continuity_row(const std::string& tag, const RunSettings& settings, const PreflightEnv& env) {
  std::string previous = settings.previous_ref.empty() ? settings.installer_repository : settings.previous_ref;
  if (previous.empty())
    return {"continuity", k_warn,
            "no run.installer_repository or run.previous_ref: the previous release's PCR key and signer are not compared"};
  auto report = env.installers.previous_release(ContinuityRequest{previous, tag, settings.registry});
  if (!report) return {"continuity", k_fail, report.error().message()};
  if (report->first_release) return {"continuity", k_ok, "no earlier release in " + previous + " (first release)"};
  return {"continuity", k_ok, "compared with " + report->previous};
}

}  // namespace

std::string_view preflight_result_name(PreflightResult result) {
  switch (result) {
  case PreflightResult::ok: return "ok";
  case PreflightResult::warn: return "warn";
  case PreflightResult::fail: return "FAIL";
  case PreflightResult::skip: return "skip";
  }
  return "FAIL";
}

std::vector<PreflightRow> run_preflight(const std::string& tag, const RunSettings& settings, const PreflightEnv& env) {
  return {keys_row(settings, env),
          certificate_row(settings),
          pcr_row(settings),
          signing_row(settings),
          access_row(env),
          release_row(env),
          registry_row(tag, settings, env),
          engine_row(settings, env),
          continuity_row(tag, settings, env)};
}

Status preflight_status(const std::vector<PreflightRow>& rows) {
  std::string names;
  size_t failed = 0;
  for (const auto& row : rows) {
    if (row.result != PreflightResult::fail) continue;
    ++failed;
    names += (names.empty() ? "" : ", ") + row.check;
  }
  if (failed == 0) return {};
  return fail(ErrorKind::invalid_input,
              "preflight: " + std::to_string(failed) + " check(s) failed (" + names + "); imager was not started");
}

}  // namespace sbpipe

#include "pipeline/preflight.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <filesystem>

#include "core/file.h"
#include "core/file_lock.h"
#include "oci/credentials.h"
#include "oci/reference.h"
#include "pipeline/continuity.h"
#include "pipeline/provenance.h"
#include "release/target_spec.h"
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

// "/O=Owner UKI/CN=x" for the RFC 2253 "CN=x,O=Owner UKI": the form
// Authenticode's signer subjects take (X509_NAME_oneline), so a message
// names the previous and the configured certificate alike.
std::string oneline_subject(const std::string& rfc2253) {
  std::vector<std::string> parts;
  std::string part;
  for (size_t i = 0; i < rfc2253.size(); ++i) {
    if (rfc2253[i] == '\\' && i + 1 < rfc2253.size()) {
      part += rfc2253[++i];
    } else if (rfc2253[i] == ',') {
      parts.push_back(part);
      part.clear();
    } else {
      part += rfc2253[i];
    }
  }
  parts.push_back(part);
  std::string out;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) out += "/" + *it;
  return out;
}

// What every UKI of this build will carry, before there is a build: the
// configured certificate as its signer and the configured PCR public key as
// its .pcrpkey (verify refuses a UKI that differs from either), one per
// architecture, as verify's verdicts would give them to continuity.
Result<std::vector<Verdict>> expected_ukis(const RunSettings& settings, const PreflightEnv& env) {
  auto cert_text = read_small_file(cert_path(settings));
  if (!cert_text) return fail(cert_text.error());
  auto certs = parse_pem_certificates(*cert_text, cert_path(settings));
  if (!certs) return fail(certs.error());
  auto pcr = read_small_file(pcr_public_path(settings));
  if (!pcr) return fail(pcr.error());
  std::vector<Verdict> out;
  for (const auto& arch : env.architectures) {
    Verdict v;
    v.path = "(this build, " + arch + ")";
    v.role = "uki";
    v.ok = true;
    v.machine = arch == "arm64" ? "aa64" : "x64";
    v.signer = oneline_subject(certs->front().subject);
    v.signer_der = certs->front().der;
    v.pcrpkey = *pcr;
    out.push_back(std::move(v));
  }
  return out;
}

// The comparison verify's continuity check will make after the build
// (continuity.h), made now with the configured certificate and PCR key: a
// key rotation is named before imager runs, not after. A comparison that
// could not be made is never ok.
Row continuity_row(const std::string& tag, const RunSettings& settings, const PreflightEnv& env) {
  std::string previous = settings.previous_ref.empty() ? settings.installer_repository : settings.previous_ref;
  if (previous.empty())
    return {"continuity", k_warn,
            "not checked: no run.installer_repository or run.previous_ref, so the previous release's PCR key and signer are "
            "not compared"};
  ContinuityRequest request{previous, tag, settings.registry};
  auto found = env.installers.previous_release(request);
  if (!found) return {"continuity", k_fail, found.error().message()};
  if (found->first_release) return {"continuity", k_ok, "no earlier release in " + previous + " (first release)"};
  auto ukis = expected_ukis(settings, env);
  if (!ukis)
    return {"continuity", k_fail,
            "not checked: the certificate or PCR public key cannot be read (" + ukis.error().message() + ")"};
  auto report = env.installers.continuity(*ukis, request);
  if (!report) return {"continuity", k_fail, "not checked: " + report.error().message()};
  if (!report->ok()) {
    std::string changes;
    for (const auto& c : report->changes) changes += (changes.empty() ? "" : "; ") + c;
    if (env.allow_key_rotation)
      return {"continuity", k_warn, changes + " (--allow-key-rotation: published, and the release notes say so)"};
    return {"continuity", k_fail, changes + "; " + rotation_advice()};
  }
  return {"continuity", k_ok, "same PCR key and UKI signer as " + found->previous};
}

// The nearest existing directory at or above `path`.
fs::path existing_parent(fs::path path) {
  std::error_code ec;
  path = fs::absolute(path, ec);
  while (!path.empty() && !fs::exists(path, ec) && path != path.root_path()) path = path.parent_path();
  return path;
}

std::string size_text(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(bytes) / static_cast<double>(uint64_t{1} << 30));
  return buf;
}

Row disk_row(const fs::path& state_dir, const PreflightEnv& env) {
  fs::path at = existing_parent(state_dir);
  auto free = env.free_space(at);
  if (!free) return {"disk space", k_fail, at.string() + ": cannot tell the free space (not checked)"};
  if (*free < k_min_free_bytes)
    return {"disk space", k_fail,
            at.string() + ": " + size_text(*free) + " free; a run's outputs need about " + size_text(k_min_free_bytes) +
                " (imager would stop part way with a full disk)"};
  return {"disk space", k_ok, at.string() + ": " + size_text(*free) + " free"};
}

Row state_row(const fs::path& state_dir) {
  fs::path at = existing_parent(state_dir);
  if (::access(at.c_str(), W_OK | X_OK) != 0)
    return {"state dir", k_fail, state_dir.string() + ": " + at.string() + " is not writable by this user"};
  return {"state dir", k_ok, state_dir.string() + (at == fs::absolute(state_dir) ? "" : " (created at the first run)")};
}

// Another run of this version holds its lock.
std::optional<Row> lock_row(const std::string& tag, const RunSettings& settings, const PreflightEnv& env) {
  auto holder = FileLock::holder(state_root(settings) / tag / "lock");
  if (!holder) return std::nullopt;
  std::string who = "version " + tag + " is being run by another process (pid " + std::to_string(*holder) + ")";
  if (env.waits_for_lock) return Row{"lock", k_warn, who + "; this run waits for it (--wait)"};
  return Row{"lock", k_fail, who + "; run with --wait to wait for it"};
}

// The build repository's tag the provenance will name (run.source_dir):
// it must exist there, or the plan step would stop after every other
// check passed.
Row source_row(const std::string& tag, const RunSettings& settings) {
  if (settings.source_dir.empty()) return {"source", k_skip, "no run.source_dir: the provenance names no commit"};
  auto found = read_provenance(settings.source_dir, tag);
  if (!found) return {"source", k_fail, settings.source_dir + ": " + found.error().message()};
  std::string detail = "tag " + tag + " is commit " + found->commit.substr(0, 12) + " in " + settings.source_dir;
  if (!found->tree_differs.empty())
    return {"source", k_warn,
            detail + "; the work tree differs from it (" + found->tree_differs + "): the provenance names the tag's commit"};
  return {"source", k_ok, detail};
}

// The GitHub token a run would use (github_token_file, else GH_TOKEN, then
// GITHUB_TOKEN: as the run reads it), or, for dir:PATH, that PATH can be
// written. Reads the token only to know it is there; never shows it.
Row token_row(const RunSettings& settings) {
  auto spec = parse_target_spec(settings.target, "run.target");
  if (!spec) return {"github token", k_fail, spec.error().message()};
  if (const auto* dir = std::get_if<DirSpec>(&*spec)) {
    fs::path at = existing_parent(dir->root);
    if (::access(at.c_str(), W_OK | X_OK) != 0)
      return {"publish target", k_fail, settings.target + ": " + at.string() + " is not writable by this user"};
    return {"publish target", k_ok, settings.target + " (writable)"};
  }
  if (!settings.github_token_file.empty()) {
    auto token = read_secret_file(settings.github_token_file, "run.github_token_file: GitHub token");
    if (!token) return {"github token", k_fail, token.error().message()};
    return {"github token", k_ok, "from " + settings.github_token_file};
  }
  for (const char* name : {"GH_TOKEN", "GITHUB_TOKEN"})
    if (auto value = process_getenv(name); value && !value->empty()) return {"github token", k_ok, std::string("from ") + name};
  return {"github token", k_fail, "no GitHub token: set run.github_token_file (or GH_TOKEN/GITHUB_TOKEN in the environment)"};
}

// The credentials a push would use, found (not tried: the preflight's
// registry row does that before each run).
Row credentials_row(const RunSettings& settings) {
  if (settings.installer_repository.empty())
    return {"registry credentials", k_skip, "no run.installer_repository: nothing is pushed"};
  auto ref = ImageRef::parse(settings.installer_repository + ":check", "run.installer_repository");
  if (!ref) return {"registry credentials", k_fail, ref.error().message()};
  auto credentials = registry_credentials(ref->registry, settings.registry);
  if (!credentials) return {"registry credentials", k_fail, credentials.error().message()};
  if (!credentials->present())
    return {"registry credentials", k_warn,
            "none found for " + ref->registry +
                " (run.registry_username with run.registry_password_file, SBPIPE_REGISTRY_USERNAME/PASSWORD, or docker's "
                "config.json): the push goes anonymous, which a registry that needs a login refuses"};
  return {"registry credentials", k_ok, "user " + credentials->username + " for " + ref->registry};
}

}  // namespace

std::optional<uint64_t> real_free_space(const fs::path& path) {
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0) return std::nullopt;
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

std::vector<PreflightRow> service_checks(const RunSettings& settings, const fs::path& state_dir, const PreflightEnv& env) {
  return {keys_row(settings, env),   certificate_row(settings), pcr_row(settings),
          signing_row(settings),     token_row(settings),       credentials_row(settings),
          engine_row(settings, env), state_row(state_dir),      disk_row(state_dir, env)};
}

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
  // A run of this version already going: said first, and alone when this
  // run would be refused for it (no network check is worth it then).
  auto lock = lock_row(tag, settings, env);
  if (lock && lock->result == k_fail) return {*lock};
  std::vector<PreflightRow> rows{keys_row(settings, env),
                                 certificate_row(settings),
                                 pcr_row(settings),
                                 signing_row(settings),
                                 access_row(env),
                                 release_row(env),
                                 registry_row(tag, settings, env),
                                 engine_row(settings, env),
                                 continuity_row(tag, settings, env),
                                 source_row(tag, settings),
                                 disk_row(state_root(settings), env)};
  if (lock) rows.insert(rows.begin(), *lock);
  return rows;
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

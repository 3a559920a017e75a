#include "pipeline/runner.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <sys/stat.h>

#include "core/clock.h"
#include "core/file.h"
#include "core/log.h"
#include "core/progress.h"
#include "pipeline/continuity.h"
#include "pipeline/imager_command.h"
#include "pipeline/imager_exit.h"
#include "pipeline/run_env.h"
#include "pipeline/run_state.h"
#include "plan/published.h"
#include "release/finalize.h"
#include "release/publish.h"
#include "secureboot/talos_version.h"
#include "secureboot/x509.h"

namespace sbpipe {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// What verify will need, checked before imager runs for minutes: the UKI
// certificate and the PCR public key nodes are sealed to (both public; the
// private keys are imager's alone).
Status check_verify_inputs(const RunSettings& settings) {
  if (auto st = check_cert_input(settings); !st) return st;
  return check_pcr_public_input(settings);
}

// Size and modification time (ns) of a file: "<size>:<mtime>".
Result<std::string> file_stamp(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return fail(ErrorKind::not_found, path.string() + ": missing");
  return std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
}

// Step names in the journal.
std::string imager_step(const ImagerInvocation& inv) { return step_key(RunStep::imager, inv.name); }
const std::string k_plan = step_key(RunStep::plan);
const std::string k_release = step_key(RunStep::release);
const std::string k_verify = step_key(RunStep::verify);
const std::string k_push = step_key(RunStep::push_installer);
const std::string k_upload = step_key(RunStep::upload_assets);
const std::string k_finalize = step_key(RunStep::finalize);

class Runner {
public:
  Runner(const RunRequest& request, const RunSettings& settings, const PlanConfig& plan_config, const RunEnv& env,
         RunState& state)
      : m_request(request), m_settings(settings), m_plan_config(plan_config), m_env(env), m_state(state),
        m_out(state.dir() / "out") {}

  Result<RunResult> run() {
    if (!m_state.done(k_verify))
      if (auto st = check_verify_inputs(m_settings); !st) return fail(st.error());
    // The signing key is read before imager runs: a bad key costs no build.
    if (!m_settings.sign_key.empty() && !m_state.done(k_finalize)) {
      auto key = SigningKey::load(m_settings.sign_key, "run.sign_key");
      if (!key) return fail(key.error());
      m_sign_key = std::move(*key);
    }
    if (auto st = timed(k_plan, [&] { return plan(); }); !st) return fail(st.error());
    if (auto st = timed(k_release, [&] { return pin_release(); }); !st) return fail(st.error());
    for (const auto& inv : m_plan.invocations)
      if (auto st = timed(imager_step(inv), [&] { return imager(inv); }); !st) return fail(st.error());
    if (auto st = timed(k_verify, [&] { return verify(); }); !st) return fail(st.error());
    if (!m_state.done(k_push))  // the release may have changed while imager ran
      if (auto st = check_pin_again(); !st) return fail(st.error());
    if (auto st = timed(k_push, [&] { return push(); }); !st) return fail(st.error());
    if (auto st = timed(k_upload, [&] { return publish(); }); !st) return fail(st.error());
    if (auto st = timed(k_finalize, [&] { return finalize(); }); !st) return fail(st.error());
    say_resumed("");
    return run_result(m_state.journal()["steps"], m_state.journal_path().string());
  }

private:
  // Runs one step and tells the caller how it ended and how long it took.
  Status timed(const std::string& step, const std::function<Status()>& body) {
    bool earlier = m_state.done(step);
    if (!earlier) say_resumed(step);
    auto started = m_env.clock.now();
    Status st = body();
    if (m_request.on_step)
      m_request.on_step(StepTime{step,
                                 !st       ? StepOutcome::failed
                                 : earlier ? StepOutcome::earlier
                                           : StepOutcome::done,
                                 m_env.clock.now() - started});
    return st;
  }

  bool skip(const std::string& step) {
    if (!m_state.done(step)) return false;
    m_resumed.push_back(step);
    return true;
  }

  // The steps an earlier run finished, said once, as one line, before the
  // first step this run makes (`next`), or at the end ("" : all were done).
  void say_resumed(const std::string& next) {
    if (m_resumed.empty()) return;
    std::string steps;
    for (const auto& s : m_resumed) steps += (steps.empty() ? "" : ", ") + s;
    std::string text = next.empty() ? "nothing to do: every step was done in an earlier run (" + steps + ")"
                                    : "resuming at " + next + ": " + std::to_string(m_resumed.size()) +
                                          " step(s) done in an earlier run (" + steps + ")";
    log_event(LogLevel::info, text, {{"tag", m_request.tag}, {"outcome", "done_earlier"}, {"steps", steps}});
    m_resumed.clear();
  }

  template <typename Record>
  Status record(const std::string& step, const Record& output) {
    if (auto st = m_state.record(step, output.to_json()); !st) return st;
    log_event(LogLevel::info, step + ": done", {{"tag", m_request.tag}, {"step", step}, {"outcome", "done"}});
    return {};
  }

  // The plan (and provenance) is fixed by the first run of a version: a
  // re-run with a different configuration would mix two builds. With
  // imager.image_verification rules, the plan names every input by the
  // digest its tag names now, and each is checked against the rules before
  // imager (which gets the keys) runs.
  Status plan() {
    const bool checked = inputs_checked();
    DigestResolver resolver = [this](const ImageRef& ref) { return m_env.inputs.resolve(ref, m_settings.registry); };
    auto made = make_plan(m_request.tag, m_plan_config, checked ? &resolver : nullptr);
    if (!made) return fail(made.error());
    m_plan = std::move(*made);
    json planned = json::parse(plan_json(m_plan));
    auto recorded = read_record<PlanRecord>(m_state, k_plan);
    if (!recorded) return fail(recorded.error());
    if (*recorded) {
      if ((*recorded)->plan != planned)
        return fail(ErrorKind::config, "version " + m_request.tag + ": the imager configuration" +
                                           (checked ? ", or an image it names (a tag moved to another digest)," : "") +
                                           " changed since this run began; run with --restart to build again with the new one");
      m_provenance = (*recorded)->provenance;
      m_resumed.push_back(k_plan);
      return {};
    }
    if (!m_settings.source_dir.empty()) {
      auto p = read_provenance(m_settings.source_dir, m_request.tag);
      if (!p) return fail(p.error());
      if (!p->tree_differs.empty())
        spdlog::warn("--source {}: the work tree differs from tag {} ({}); provenance records the tag's commit {}",
                     m_settings.source_dir, m_request.tag, p->tree_differs, p->commit);
      m_provenance = *p;
    }
    if (checked)
      if (auto st = m_env.inputs.check(m_plan, m_plan_config.image_verification, m_settings.registry); !st) return st;
    return record(k_plan, PlanRecord{planned, m_provenance});
  }

  bool inputs_checked() const { return m_plan_config.image_verification.configured; }

  // The SLSA provenance attached to the installer: only of a plan whose
  // inputs are pinned by digest (with image_verification rules), signed by
  // run.sign_key.
  Result<std::optional<ProvenanceFacts>> provenance_facts() const {
    if (!inputs_checked() || !m_sign_key) return std::optional<ProvenanceFacts>();
    ProvenanceFacts facts;
    add_plan_facts(m_plan, facts);
    facts.release = m_env.release.what();
    if (m_provenance) facts.source_commit = m_provenance->commit;
    auto pem = read_small_file(cert_path(m_settings));
    if (!pem) return fail(pem.error().with_context("run.cert_file"));
    auto certs = parse_pem_certificates(*pem, cert_path(m_settings));
    if (!certs) return fail(certs.error());
    facts.uki_certificate_sha256 = certs->front().sha256;
    auto pcr = PublicKey::load(pcr_public_path(m_settings), "run.pcr_public_key");
    if (!pcr) return fail(pcr.error());
    facts.pcr_public_key_sha256 = pcr->fingerprint();
    return std::optional<ProvenanceFacts>(std::move(facts));
  }

  // The first look at the release: it must exist and not be a full
  // release; its id and state are recorded as the run's pin (ReleasePin,
  // release/target.h), which every later look compares with.
  Status pin_release() {
    if (auto st = check_pin_again(); !st) return st;
    if (m_state.done(k_release)) return {};
    return m_state.record(k_release, ReleaseRecord{m_opened_id, m_pin.started_as}.to_json());
  }

  // The release must still be what the run was started for, before minutes
  // of building start and again before anything is published; a finished
  // run needs no look.
  Status check_pin_again() {
    if (m_state.done(k_finalize)) return {};
    const std::string what = m_env.release.what();
    auto info = m_env.release.open(OpenFor::publish);
    if (!info) return fail(info.error());
    auto recorded = read_record<ReleaseRecord>(m_state, k_release);
    if (!recorded) return fail(recorded.error());
    if (*recorded && (*recorded)->id && info->id && *(*recorded)->id != *info->id)
      return fail(ErrorKind::invalid_input, what + " is release id " + std::to_string(*info->id) +
                                                " now, but this run began for id " + std::to_string(*(*recorded)->id) +
                                                "; run with --restart to build for the new one");
    std::optional<ReleaseState> started = m_request.release_state;
    if (!started && *recorded) started = (*recorded)->state;
    if (!started && info->state != ReleaseState::released) started = info->state;
    m_pin = ReleasePin{m_request.tag, started};
    m_opened_id = info->id;
    if (auto st = check_pin(*info, m_pin, what); !st) return fail(st.error());
    if (info->state == ReleaseState::released && !m_state.done(k_upload))
      return fail(ErrorKind::invalid_input, what + " is already a full release; run publishes pre-releases and drafts only");
    return {};
  }

  // imager writes into a fresh staging directory; its output file is
  // renamed into out/ only when imager succeeded, so out/ never holds a
  // half-written image.
  Status imager(const ImagerInvocation& inv) {
    const auto step = imager_step(inv);
    if (skip(step)) return {};
    if (auto st = create_private_directories(m_out); !st) return st;
    auto staging = m_state.dir() / ("imager-" + inv.name);
    std::error_code ec;
    fs::remove_all(staging, ec);
    if (auto st = create_private_directories(staging); !st) return st;
    if (auto st = create_private_directories(m_state.dir() / "no-keys"); !st) return st;
    auto argv = imager_argv(m_settings, inv, staging, m_state.dir() / "no-keys");
    if (!argv) return fail(argv.error());
    // One more try only for what another try can fix: imager 1.14's
    // dependency (a pull) and I/O failures (imager_exit.h).
    int exit_status = 0;
    for (int attempt = 1; attempt <= 2; ++attempt) {
      if (attempt > 1) {
        fs::remove_all(staging, ec);
        if (auto st = create_private_directories(staging); !st) return st;
      }
      log_event(LogLevel::info, step + ": running imager (" + (*argv)[0] + ")",
                {{"tag", m_request.tag}, {"step", step}, {"command", (*argv)[0]}, {"attempt", attempt}});
      auto started = m_env.clock.now();
      auto exit = m_env.processes.run(ChildSpec{*argv, secret_env_names(), {}, std::nullopt});
      if (!exit) return fail(exit.error().with_context("imager " + inv.name));
      auto secs = std::chrono::duration_cast<std::chrono::seconds>(m_env.clock.now() - started).count();
      exit_status = *exit;
      log_event(exit_status == 0 ? LogLevel::info : LogLevel::error,
                step + ": imager ended with status " + std::to_string(exit_status) + " after " + std::to_string(secs) + " s" +
                    (exit_status == 0 ? "" : " (" + imager_exit_text(exit_status) + ")"),
                {{"tag", m_request.tag}, {"step", step}, {"status", exit_status}, {"seconds", secs}});
      if (exit_status == 0 || imager_exit(exit_status).retry == ImagerRetry::no) break;
    }
    if (exit_status != 0) {
      bool retried = imager_exit(exit_status).retry == ImagerRetry::yes;
      return fail(ErrorKind::invalid_input,
                  imager_exit_text(exit_status) + " building " + inv.name +
                      (retried ? ", also on a second try" : ", not retried: another try fails the same way") +
                      "; nothing was published");
    }
    auto produced = staging / inv.output_file;
    if (!fs::is_regular_file(produced))
      return fail(ErrorKind::invalid_input,
                  "imager " + inv.name + " succeeded but wrote no " + inv.output_file + " into " + staging.string());
    fs::rename(produced, m_out / inv.output_file, ec);
    if (ec) return fail(ErrorKind::io, (m_out / inv.output_file).string() + ": " + ec.message());
    fs::remove_all(staging, ec);
    auto stamp = file_stamp(m_out / inv.output_file);
    if (!stamp) return fail(stamp.error());
    return record(step, ImagerRecord{inv.output_file, *stamp});
  }

  // The Talos version every UKI must name: imager.talos_version, else the
  // tag; none when neither is a Talos version (talos_version.h).
  std::string built_version() const {
    const std::string& v = m_plan_config.talos_version.empty() ? m_request.tag : m_plan_config.talos_version;
    return is_talos_version(v) ? v : std::string();
  }

  // The gate: the plan's gate inputs (every SecureBoot output but disk
  // images published unverified), against the certificate alone. Nothing
  // after this runs unless it passed.
  Status verify() {
    if (skip(k_verify)) return {};
    auto paths = gate_inputs(m_plan, m_out);
    if (paths.empty()) return fail(ErrorKind::config, "the plan has no SecureBoot output; run publishes signed builds only");
    auto verdicts = m_env.verifier.verify(
        paths, VerifyRequest{
                   .cert_file = cert_path(m_settings),
                   .require_cmdline = m_settings.require_cmdline,
                   .forbid_cmdline = m_settings.forbid_cmdline,
                   .pcr_pubkey_file = pcr_public_path(m_settings),
                   .cert_setting = m_settings.cert_file.empty() ? "run.keys_dir" : "run.cert_file",
                   .pcr_pubkey_setting = m_settings.pcr_public_key.empty() ? "run.keys_dir" : "run.pcr_public_key",
                   .talos_version = built_version(),
               });
    if (!verdicts) return fail(verdicts.error());
    // One line per binary; the table is verify's own output, not a log's.
    for (const auto& v : *verdicts)
      log_event(v.ok ? LogLevel::info : LogLevel::error,
                "verify: " + std::string(v.ok ? "ok " : "FAIL ") + v.path + " (" + v.role + ")" +
                    (v.reason.empty() ? "" : ": " + v.reason),
                {{"tag", m_request.tag},
                 {"step", "verify"},
                 {"path", v.path},
                 {"role", v.role},
                 {"outcome", v.ok ? "ok" : "failed"},
                 {"reason", v.reason}});
    if (auto st = verdicts_status(*verdicts); !st)
      return fail(st.error().with_context("verify: nothing was published; fix the build, then run again with --restart"));
    auto continuity = check_previous_release(*verdicts);
    if (!continuity) return fail(continuity.error());
    return record(k_verify, VerifyRecord{verdicts_json(*verdicts), *continuity});
  }

  // Nodes that run the previous release must boot this build and unseal
  // their disks: same PCR key, same UKI signer (continuity.h).
  Result<ContinuityRecord> check_previous_release(const std::vector<Verdict>& verdicts) {
    std::string previous = m_settings.previous_ref.empty() ? m_settings.installer_repository : m_settings.previous_ref;
    if (previous.empty()) {
      spdlog::warn(
          "continuity: no run.installer_repository or run.previous_ref: the previous release's PCR key and signer "
          "are not compared");
      return ContinuityRecord{};
    }
    auto report = m_env.installers.continuity(verdicts, ContinuityRequest{previous, m_request.tag, m_settings.registry});
    if (!report) return fail(report.error().with_context("continuity with the previous release"));
    if (report->first_release) {
      spdlog::info("continuity: no earlier release in {} (first release)", previous);
      return ContinuityRecord{.checked = true, .first_release = true};
    }
    // Each finding once: in the refusal, or (an allowed rotation) as a warning.
    if (!report->ok() && !m_request.allow_key_rotation)
      return fail(ErrorKind::invalid_input, "continuity with " + report->previous + ": " +
                                                fmt::format("{}", fmt::join(report->changes, "; ")) +
                                                "; nothing was published; " + rotation_advice());
    for (const auto& c : report->changes) spdlog::warn("continuity: {} (--allow-key-rotation)", c);
    if (report->ok()) spdlog::info("continuity: same PCR key and UKI signer as {}", report->previous);
    return ContinuityRecord{.checked = true, .previous = report->previous, .rotation = report->changes};
  }

  // What is published must be what verify saw: every output still has the
  // size and modification time imager's step recorded. A file replaced or
  // removed since is refused (a re-run would otherwise publish it unverified).
  Status check_outputs() const {
    for (const auto& inv : m_plan.invocations) {
      auto path = m_out / inv.output_file;
      auto recorded = read_record<ImagerRecord>(m_state, imager_step(inv));
      if (!recorded) return fail(recorded.error());
      if (!*recorded)
        return fail(ErrorKind::invalid_input, m_state.journal_path().string() + ": step " + imager_step(inv) + " is not done");
      auto stamp = file_stamp(path);
      if (!stamp || *stamp != (*recorded)->stamp)
        return fail(ErrorKind::invalid_input, path.string() +
                                                  " is missing or changed since imager wrote it and verify checked it; "
                                                  "run with --restart to build again");
    }
    return {};
  }

  Status push() {
    if (skip(k_push)) return {};
    if (auto st = check_outputs(); !st) return st;
    auto inputs = installer_inputs(m_plan, m_out);
    if (m_settings.installer_repository.empty() || inputs.empty()) {
      spdlog::info("push-installer: {}", inputs.empty() ? "no SecureBoot installer in the plan" : "no run.installer_repository");
      return record(k_push, PushRecord{.skipped = true});
    }
    InstallerPush request;
    request.inputs = inputs;
    request.ref = m_settings.installer_repository + ":" + m_request.tag;
    request.registry = m_settings.registry;
    // Signed (the .sig tag and a sigstore bundle) before the tag moves; the
    // provenance attestation too when the plan names its inputs by digest.
    request.sign_key = m_settings.sign_key;
    request.sign_key_setting = "run.sign_key";
    auto provenance = provenance_facts();
    if (!provenance) return fail(provenance.error().with_context("push-installer: provenance"));
    request.provenance = std::move(*provenance);
    request.annotations.push_back("org.opencontainers.image.version=" + m_request.tag);
    if (m_provenance) {
      request.annotations.push_back("org.opencontainers.image.revision=" + m_provenance->commit);
      if (!m_provenance->source_url.empty())
        request.annotations.push_back("org.opencontainers.image.source=" + m_provenance->source_url);
    }
    auto pushed = m_env.installers.push(request);
    if (!pushed) return fail(pushed.error().with_context("push-installer"));
    return record(k_push, PushRecord{.ref = request.ref + "@" + pushed->digest, .digest = pushed->digest});
  }

  // The plan's release assets (plan/published.h: the same call as
  // `upload-assets --plan`), with the listings over the whole release.
  Status publish() {
    if (skip(k_upload)) return {};
    if (auto st = check_outputs(); !st) return st;
    auto assets = release_files(m_plan, m_out);
    if (!assets) return fail(assets.error());
    PublishRequest request{m_pin, AllowPublished::no};
    request.sign_key = m_sign_key ? &*m_sign_key : nullptr;
    auto reports = publish_release(m_env.release, *assets, request);
    if (!reports) return fail(reports.error().with_context("upload-assets"));
    // One line per asset; run's summary on stdout is the table.
    for (const auto& r : *reports)
      log_event(LogLevel::info,
                "upload-assets: " + std::string(outcome_name(r.outcome)) + " " + r.name + " (" + format_bytes(r.size) + ")",
                {{"tag", m_request.tag},
                 {"step", "upload-assets"},
                 {"asset", r.name},
                 {"outcome", outcome_name(r.outcome)},
                 {"size", r.size},
                 {"sha256", r.sha256}});
    return record(k_upload, UploadRecord{*reports});
  }

  Status finalize() {
    if (skip(k_finalize)) return {};
    auto pushed = read_record<PushRecord>(m_state, k_push);
    if (!pushed) return fail(pushed.error());
    std::string installer = *pushed ? (*pushed)->ref : "";  // empty: the push was skipped
    ReleaseFacts facts = release_facts(m_request.tag, installer, &m_plan_config);
    auto verified = read_record<VerifyRecord>(m_state, k_verify);
    if (!verified) return fail(verified.error());
    if (*verified)
      for (const auto& change : (*verified)->continuity.rotation)
        facts.notices.push_back("key rotation (allowed with --allow-key-rotation): " + change +
                                "; re-seal TPM-encrypted disks or keep a recovery key before upgrading");
    if (m_provenance) {
      facts.source_commit = m_provenance->commit;
      facts.source_url = m_provenance->source_url;
    }
    if (m_sign_key) {
      facts.signing_public_key = m_sign_key->public_key().pem();
      facts.signing_fingerprint = m_sign_key->public_key().fingerprint();
    }
    FinalizeRequest request{m_pin, m_settings.make_latest ? MakeLatest::yes : MakeLatest::no, facts,
                            [this](const std::string& ref) -> Status {
                              if (auto st = m_env.installers.check(ref, m_settings.registry); !st) return st;
                              if (!m_sign_key) return {};
                              return m_env.installers.check_signed(ref, m_settings.registry, m_sign_key->public_key());
                            }};
    request.signing_key = m_sign_key ? &m_sign_key->public_key() : nullptr;
    auto result = finalize_release(m_env.release, request);
    if (!result) return fail(result.error().with_context("finalize"));
    return record(k_finalize, FinalizeRecord{result->release.location, result->changed});
  }

  const RunRequest& m_request;
  const RunSettings& m_settings;
  const PlanConfig& m_plan_config;
  const RunEnv& m_env;
  RunState& m_state;
  fs::path m_out;
  Plan m_plan;
  std::optional<Provenance> m_provenance;  // none: no run.source_dir
  std::optional<SigningKey> m_sign_key;    // none: no run.sign_key
  ReleasePin m_pin;
  std::optional<int64_t> m_opened_id;  // the release's id at the last look
  std::vector<std::string> m_resumed;  // steps found done in the journal, not said yet
};

}  // namespace

std::string_view step_outcome_name(StepOutcome outcome) {
  switch (outcome) {
  case StepOutcome::done: return "done";
  case StepOutcome::earlier: return "earlier run";
  case StepOutcome::failed: return "FAILED";
  }
  return "FAILED";
}

Result<RunResult> run_pipeline(const RunRequest& request, const RunSettings& settings, const PlanConfig& plan_config,
                               const RunEnv& env) {
  fs::path root = state_root(settings);
  if (auto st = create_private_directories(root); !st) return fail(st.error());
  auto state = RunState::open(root, request.tag, request.wait);
  if (!state) return fail(state.error());
  if (request.restart) {
    spdlog::info("--restart: forgetting the finished steps of {} (what was published stays)", request.tag);
    if (auto st = state->reset(); !st) return fail(st.error());
    std::error_code ec;
    fs::remove_all(state->dir() / "out", ec);
  }
  Runner runner(request, settings, plan_config, env, *state);
  return runner.run();
}

}  // namespace sbpipe

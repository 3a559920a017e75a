#include "pipeline/local_run.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <sys/stat.h>
#include <cstdlib>

#include "core/clock.h"
#include "core/config_file.h"
#include "core/file.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/table.h"
#include "pipeline/continuity.h"
#include "pipeline/provenance.h"
#include "pipeline/run_env.h"
#include "pipeline/run_state.h"
#include "release/dir_target.h"
#include "release/finalize.h"
#include "release/publish.h"

namespace sbpipe {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

Status check_placeholders(const std::vector<std::string>& words, std::string_view label, std::string_view key) {
  bool has_args = false;
  for (const auto& w : words) {
    if (w == "{args}") {
      has_args = true;
      continue;
    }
    for (size_t open = w.find('{'); open != std::string::npos; open = w.find('{', open + 1)) {
      auto close = w.find('}', open);
      std::string name = close == std::string::npos ? w.substr(open) : w.substr(open, close - open + 1);
      if (name != "{keys}" && name != "{out}" && name != "{image}")
        return config_error(label, std::string(key) + ": unknown placeholder " + name +
                                       " (known: {keys} {out} {image}, and {args} as a word of its own)");
    }
  }
  if (!has_args) return config_error(label, std::string(key) + ": needs the word {args}, where imager's arguments go");
  return {};
}

std::string substitute(std::string word, const ImagerSlots& slots) {
  for (const auto& [name, value] : {std::pair<std::string_view, const std::string*>{"{keys}", &slots.keys},
                                    {"{out}", &slots.out},
                                    {"{image}", &slots.image}}) {
    for (size_t at = word.find(name); at != std::string::npos; at = word.find(name, at + value->size()))
      word.replace(at, name.size(), *value);
  }
  return word;
}

// imager's command line for one invocation writing into `out`. Only
// SecureBoot outputs get the keys; the others get `no_keys`, an empty
// directory, in their place.
Result<std::vector<std::string>> imager_argv(const RunSettings& settings, const ImagerInvocation& inv, const fs::path& out,
                                             const fs::path& no_keys) {
  ImagerSlots slots{fs::absolute(inv.secureboot ? fs::path(settings.keys_dir) : no_keys).string(), fs::absolute(out).string(),
                    inv.image, inv.args};
  for (size_t i = 0; i + 1 < slots.args.size(); ++i)
    if (slots.args[i] == "--output") slots.args[i + 1] = substitute(settings.imager_output, slots);
  return expand_imager_command(settings.imager_command, slots);
}

// What verify will need, checked before imager runs for minutes: the UKI
// certificate and the PCR public key nodes are sealed to (both public; the
// private keys are imager's alone).
Status check_verify_inputs(const RunSettings& settings) {
  if (auto st = check_cert_input(settings); !st) return st;
  return check_pcr_public_input(settings);
}

}  // namespace

fs::path state_root(const RunSettings& settings) {
  return settings.state_dir.empty() ? default_state_dir() : fs::path(settings.state_dir);
}

std::string cert_path(const RunSettings& settings) {
  return settings.cert_file.empty() ? (fs::path(settings.keys_dir) / "uki-signing-cert.pem").string() : settings.cert_file;
}

std::string pcr_public_path(const RunSettings& settings) {
  return settings.pcr_public_key.empty() ? (fs::path(settings.keys_dir) / "pcr-signing-key.pub.pem").string()
                                         : settings.pcr_public_key;
}

Status check_cert_input(const RunSettings& settings) {
  std::error_code ec;
  if (!fs::is_regular_file(cert_path(settings), ec))
    return fail(ErrorKind::config, (settings.cert_file.empty() ? "run.keys_dir: " : "run.cert_file: ") + cert_path(settings) +
                                       ": missing (the UKI signing certificate verify checks signatures against)");
  return {};
}

Status check_pcr_public_input(const RunSettings& settings) {
  std::error_code ec;
  if (!fs::is_regular_file(pcr_public_path(settings), ec)) {
    if (!settings.pcr_public_key.empty())
      return fail(ErrorKind::config, "run.pcr_public_key: " + settings.pcr_public_key + ": missing");
    return fail(ErrorKind::config, "run.keys_dir: " + pcr_public_path(settings) +
                                       ": missing; verify checks every UKI against the PCR public key your nodes are sealed "
                                       "to, and never reads the private key: write it once with `sbpipe keys check " +
                                       settings.keys_dir + " --write-public " + settings.keys_dir +
                                       "`, or set run.pcr_public_key");
  }
  return {};
}

namespace {

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

  Result<json> run() {
    if (!m_state.done(k_verify))
      if (auto st = check_verify_inputs(m_settings); !st) return fail(st.error());
    if (auto st = timed(k_plan, [&] { return plan(); }); !st) return fail(st.error());
    if (auto st = timed(k_release, [&] { return check_release(); }); !st) return fail(st.error());
    for (const auto& inv : m_plan.invocations)
      if (auto st = timed(imager_step(inv), [&] { return imager(inv); }); !st) return fail(st.error());
    if (auto st = timed(k_verify, [&] { return verify(); }); !st) return fail(st.error());
    if (!m_state.done(k_push))  // the release may have changed while imager ran
      if (auto st = check_release(); !st) return fail(st.error());
    if (auto st = timed(k_push, [&] { return push(); }); !st) return fail(st.error());
    if (auto st = timed(k_upload, [&] { return upload(); }); !st) return fail(st.error());
    if (auto st = timed(k_finalize, [&] { return finalize(); }); !st) return fail(st.error());
    return m_state.journal()["steps"];
  }

private:
  // Runs one step and tells the caller how it ended and how long it took.
  Status timed(const std::string& step, const std::function<Status()>& body) {
    bool earlier = m_state.done(step);
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

  bool skip(const std::string& step) const {
    if (!m_state.done(step)) return false;
    log_event(LogLevel::info, step + ": done in an earlier run (journal)",
              {{"tag", m_request.tag}, {"step", step}, {"outcome", "done_earlier"}});
    return true;
  }

  Status record(const std::string& step, json output) {
    if (auto st = m_state.record(step, std::move(output)); !st) return st;
    log_event(LogLevel::info, step + ": done", {{"tag", m_request.tag}, {"step", step}, {"outcome", "done"}});
    return {};
  }

  // The plan (and provenance) is fixed by the first run of a version: a
  // re-run with a different configuration would mix two builds.
  Status plan() {
    auto made = make_plan(m_request.tag, m_plan_config, nullptr);
    if (!made) return fail(made.error());
    m_plan = std::move(*made);
    json planned = json::parse(plan_json(m_plan));
    if (m_state.done(k_plan)) {
      const auto& recorded = m_state.output(k_plan);
      if (!recorded.is_object() || !recorded.contains("plan") || recorded.at("plan") != planned)
        return fail(ErrorKind::config, "version " + m_request.tag +
                                           ": the imager configuration changed since this run began; run with --restart to build "
                                           "again with the new one");
      if (recorded.contains("provenance") && !recorded.at("provenance").is_null()) {
        auto p = provenance_from_json(recorded.at("provenance"), m_state.journal_path().string() + ": step plan");
        if (!p) return fail(p.error());
        m_provenance = *p;
      }
      spdlog::info("plan: done in an earlier run (journal)");
      return {};
    }
    json provenance;  // null: no source_dir
    if (!m_settings.source_dir.empty()) {
      auto p = read_provenance(m_settings.source_dir, m_request.tag);
      if (!p) return fail(p.error());
      if (!p->tree_differs.empty())
        spdlog::warn("--source {}: the work tree differs from tag {} ({}); provenance records the tag's commit {}",
                     m_settings.source_dir, m_request.tag, p->tree_differs, p->commit);
      m_provenance = *p;
      provenance = provenance_json(*p);
    }
    return record(k_plan, {{"plan", planned}, {"provenance", provenance}});
  }

  // The release must exist and still be what the run was started for
  // (release.h's pin), and not be a full release, before minutes of
  // building start and again before anything is published; a finished run
  // needs no look.
  Status check_release() {
    if (m_state.done(k_finalize)) return {};
    const std::string what = m_env.release.what();
    auto info = m_env.release.open(OpenFor::publish);
    if (!info) return fail(info.error());
    const json& recorded = m_state.output(k_release);
    if (recorded.is_object() && recorded.contains("id") && info->id && recorded.at("id") != *info->id)
      return fail(ErrorKind::invalid_input, what + " is release id " + std::to_string(*info->id) +
                                                " now, but this run began for id " + recorded.at("id").dump() +
                                                "; run with --restart to build for the new one");
    std::optional<ReleaseState> started = m_request.release_state;
    if (!started && m_state.done(k_release)) {
      auto state = m_state.optional_text_field(k_release, "state");
      if (!state) return fail(state.error());
      auto parsed = parse_release_state(state->value_or(""), m_state.journal_path().string() + ": step release: state");
      if (!parsed) return fail(ErrorKind::invalid_input, parsed.error().message());
      started = *parsed;
    }
    if (!started && info->state != ReleaseState::released) started = info->state;
    m_pin = ReleasePin{m_request.tag, started};
    if (auto st = check_pin(*info, m_pin, what); !st) return fail(st.error());
    if (info->state == ReleaseState::released && !m_state.done(k_upload))
      return fail(ErrorKind::invalid_input, what + " is already a full release; run publishes pre-releases and drafts only");
    if (recorded.is_object()) return {};
    json entry = json::object();
    if (info->id) entry["id"] = *info->id;
    if (started) entry["state"] = *started == ReleaseState::draft ? "draft" : "prerelease";
    return m_state.record(k_release, entry);
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
    log_event(LogLevel::info, step + ": running imager (" + (*argv)[0] + ")",
              {{"tag", m_request.tag}, {"step", step}, {"command", (*argv)[0]}});
    auto started = m_env.clock.now();
    auto exit = m_env.processes.run(ChildSpec{*argv, secret_env_names(), {}, std::nullopt});
    if (!exit) return fail(exit.error().with_context("imager " + inv.name));
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(m_env.clock.now() - started).count();
    log_event(LogLevel::info,
              step + ": imager ended with status " + std::to_string(*exit) + " after " + std::to_string(secs) + " s",
              {{"tag", m_request.tag}, {"step", step}, {"status", *exit}, {"seconds", secs}});
    if (*exit != 0)
      return fail(ErrorKind::invalid_input,
                  "imager " + inv.name + " exited with status " + std::to_string(*exit) + "; nothing was published");
    auto produced = staging / inv.output_file;
    if (!fs::is_regular_file(produced))
      return fail(ErrorKind::invalid_input,
                  "imager " + inv.name + " succeeded but wrote no " + inv.output_file + " into " + staging.string());
    fs::rename(produced, m_out / inv.output_file, ec);
    if (ec) return fail(ErrorKind::io, (m_out / inv.output_file).string() + ": " + ec.message());
    fs::remove_all(staging, ec);
    auto stamp = file_stamp(m_out / inv.output_file);
    if (!stamp) return fail(stamp.error());
    return record(step, {{"file", inv.output_file}, {"stamp", *stamp}});
  }

  std::vector<std::string> outputs_where(bool (*pick)(const ImagerInvocation&)) const {
    std::vector<std::string> paths;
    for (const auto& inv : m_plan.invocations)
      if (pick(inv)) paths.push_back((m_out / inv.output_file).string());
    return paths;
  }

  // The gate: every SecureBoot output's EFI binaries, against the
  // certificate alone. Nothing after this runs unless it passed.
  Status verify() {
    if (skip(k_verify)) return {};
    // Disk images (verify cannot look inside) are planned only when the
    // config lists them as unverified outputs; they skip the gate.
    auto paths = outputs_where([](const ImagerInvocation& inv) { return inv.secureboot && inv.verified; });
    if (paths.empty()) return fail(ErrorKind::config, "the plan has no SecureBoot output; run publishes signed builds only");
    auto verdicts = m_env.verifier.verify(
        paths, VerifyRequest{
                   .cert_file = cert_path(m_settings),
                   .require_cmdline = m_settings.require_cmdline,
                   .forbid_cmdline = m_settings.forbid_cmdline,
                   .pcr_pubkey_file = pcr_public_path(m_settings),
                   .cert_setting = m_settings.cert_file.empty() ? "run.keys_dir" : "run.cert_file",
                   .pcr_pubkey_setting = m_settings.pcr_public_key.empty() ? "run.keys_dir" : "run.pcr_public_key",
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
    json out = verdicts_json(*verdicts);
    out["continuity"] = *continuity;
    return record(k_verify, out);
  }

  // Nodes that run the previous release must boot this build and unseal
  // their disks: same PCR key, same UKI signer (continuity.h).
  Result<json> check_previous_release(const std::vector<Verdict>& verdicts) {
    std::string previous = m_settings.previous_ref.empty() ? m_settings.installer_repository : m_settings.previous_ref;
    if (previous.empty()) {
      spdlog::warn(
          "continuity: no run.installer_repository or run.previous_ref: the previous release's PCR key and signer "
          "are not compared");
      return json{{"checked", false}};
    }
    auto report = m_env.installers.continuity(verdicts, ContinuityRequest{previous, m_request.tag, m_settings.registry});
    if (!report) return fail(report.error().with_context("continuity with the previous release"));
    if (report->first_release) {
      spdlog::info("continuity: no earlier release in {} (first release)", previous);
      return json{{"checked", true}, {"first_release", true}};
    }
    for (const auto& c : report->changes) spdlog::warn("continuity: {}", c);
    if (!report->ok() && !m_request.allow_key_rotation) {
      std::string what;
      for (const auto& c : report->changes) what += (what.empty() ? "" : "; ") + c;
      return fail(ErrorKind::invalid_input,
                  "continuity with " + report->previous + ": " + what + "; nothing was published; " + rotation_advice());
    }
    if (report->ok()) spdlog::info("continuity: same PCR key and UKI signer as {}", report->previous);
    return json{{"checked", true}, {"previous", report->previous}, {"rotation", report->changes}};
  }

  // What is published must be what verify saw: every output still has the
  // size and modification time imager's step recorded. A file replaced or
  // removed since is refused (a re-run would otherwise publish it unverified).
  Status check_outputs() const {
    for (const auto& inv : m_plan.invocations) {
      auto path = m_out / inv.output_file;
      auto recorded = m_state.text_field(imager_step(inv), "stamp");
      if (!recorded) return fail(recorded.error());
      auto stamp = file_stamp(path);
      if (!stamp || *stamp != *recorded)
        return fail(ErrorKind::invalid_input, path.string() +
                                                  " is missing or changed since imager wrote it and verify checked it; "
                                                  "run with --restart to build again");
    }
    return {};
  }

  Status push() {
    if (skip(k_push)) return {};
    if (auto st = check_outputs(); !st) return st;
    auto inputs = outputs_where([](const ImagerInvocation& inv) { return inv.kind == OutputKind::installer && inv.secureboot; });
    if (m_settings.installer_repository.empty() || inputs.empty()) {
      spdlog::info("push-installer: {}", inputs.empty() ? "no SecureBoot installer in the plan" : "no run.installer_repository");
      return record(k_push, {{"skipped", true}});
    }
    InstallerPush request;
    request.inputs = inputs;
    request.ref = m_settings.installer_repository + ":" + m_request.tag;
    request.registry = m_settings.registry;
    request.annotations.push_back("org.opencontainers.image.version=" + m_request.tag);
    if (m_provenance) {
      request.annotations.push_back("org.opencontainers.image.revision=" + m_provenance->commit);
      if (!m_provenance->source_url.empty())
        request.annotations.push_back("org.opencontainers.image.source=" + m_provenance->source_url);
    }
    auto pushed = m_env.installers.push(request);
    if (!pushed) return fail(pushed.error().with_context("push-installer"));
    return record(k_push, {{"ref", request.ref + "@" + pushed->digest}, {"digest", pushed->digest}});
  }

  // Every output but the installers (those go to the registry), under its
  // release asset name (imager's kernel-<arch> is published as vmlinuz-<arch>).
  std::vector<NamedFile> asset_files() const {
    std::vector<NamedFile> files;
    for (const auto& inv : m_plan.invocations)
      if (!inv.asset_name.empty()) files.push_back(NamedFile{m_out / inv.output_file, inv.asset_name});
    return files;
  }

  Status upload() {
    if (skip(k_upload)) return {};
    if (auto st = check_outputs(); !st) return st;
    auto assets = describe_files(asset_files());
    if (!assets) return fail(assets.error());
    auto reports = publish_release(m_env.release, *assets, PublishRequest{m_pin, AllowPublished::no});
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
    return record(k_upload, {{"assets", report_json(*reports)}});
  }

  // The key rotations verify allowed (--allow-key-rotation), for the notes.
  Result<std::vector<std::string>> rotation_changes() const {
    const json& out = m_state.output(k_verify);
    const std::string where = m_state.journal_path().string() + ": step verify: continuity.rotation";
    if (!out.is_object() || !out.contains("continuity")) return std::vector<std::string>();
    const json& continuity = out.at("continuity");
    if (!continuity.is_object() || !continuity.contains("rotation")) return std::vector<std::string>();
    const json& rotation = continuity.at("rotation");
    if (!rotation.is_array()) return fail(ErrorKind::invalid_input, where + " is not a list");
    std::vector<std::string> changes;
    for (const auto& c : rotation) {
      if (!c.is_string()) return fail(ErrorKind::invalid_input, where + " holds something other than text");
      changes.push_back(c.get<std::string>());
    }
    return changes;
  }

  Status finalize() {
    if (skip(k_finalize)) return {};
    auto pushed_ref = m_state.optional_text_field(k_push, "ref");  // none: the push was skipped
    if (!pushed_ref) return fail(pushed_ref.error());
    std::string installer = pushed_ref->value_or("");
    ReleaseFacts facts = release_facts(m_request.tag, installer, &m_plan_config);
    auto changes = rotation_changes();
    if (!changes) return fail(changes.error());
    for (const auto& change : *changes)
      facts.notices.push_back("key rotation (allowed with --allow-key-rotation): " + change +
                              "; re-seal TPM-encrypted disks or keep a recovery key before upgrading");
    if (m_provenance) {
      facts.source_commit = m_provenance->commit;
      facts.source_url = m_provenance->source_url;
    }
    FinalizeRequest request{m_pin, m_settings.make_latest ? MakeLatest::yes : MakeLatest::no, facts,
                            [this](const std::string& ref) { return m_env.installers.check(ref, m_settings.registry); }};
    auto result = finalize_release(m_env.release, request);
    if (!result) return fail(result.error().with_context("finalize"));
    return record(k_finalize, {{"release", result->release.location}, {"changed", result->changed}});
  }

  const RunRequest& m_request;
  const RunSettings& m_settings;
  const PlanConfig& m_plan_config;
  const RunEnv& m_env;
  RunState& m_state;
  fs::path m_out;
  Plan m_plan;
  std::optional<Provenance> m_provenance;  // none: no run.source_dir
  ReleasePin m_pin;
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

Result<std::vector<std::string>> split_command(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (char c : text) {
    if (quote) {
      if (c == quote)
        quote = 0;
      else
        word += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quote) return fail(ErrorKind::config, "unterminated quote in command '" + std::string(text) + "'");
  if (in_word) words.push_back(std::move(word));
  return words;
}

Result<std::vector<std::string>> expand_imager_command(const std::vector<std::string>& command, const ImagerSlots& slots) {
  if (auto st = check_placeholders(command, "run.imager_command", "imager_command"); !st) return fail(st.error());
  std::vector<std::string> argv;
  for (const auto& word : command) {
    if (word == "{args}")
      argv.insert(argv.end(), slots.args.begin(), slots.args.end());
    else
      argv.push_back(substitute(word, slots));
  }
  return argv;
}

namespace {

// What parse_run_config reads (keep the two together).
constexpr std::string_view k_run_keys[] = {"repo",
                                           "target",
                                           "state_dir",
                                           "keys_dir",
                                           "cert_file",
                                           "pcr_public_key",
                                           "imager_output",
                                           "installer_repository",
                                           "previous_ref",
                                           "source_dir",
                                           "make_latest",
                                           "registry_username",
                                           "registry_password_file",
                                           "plain_http",
                                           "registry_ca_file",
                                           "github_api",
                                           "github_token_file",
                                           "require_cmdline",
                                           "forbid_cmdline",
                                           "imager_command"};

}  // namespace

ConfigSection run_config_section() { return {"run", k_run_keys}; }

Result<RunSettings> parse_run_config(std::string_view yaml, std::string_view label) {
  RunSettings s;
  std::string password_file;
  auto st = visit_config_section(yaml, label, "run", [&](const std::string& name, const YAML::Node& value) -> Status {
    std::string key = "run." + name;
    if (name == "repo") return read_config_string(value, key, s.repo, label);
    if (name == "target") return read_config_string(value, key, s.target, label);
    if (name == "state_dir") return read_config_string(value, key, s.state_dir, label);
    if (name == "keys_dir") return read_config_string(value, key, s.keys_dir, label);
    if (name == "cert_file") return read_config_string(value, key, s.cert_file, label);
    if (name == "pcr_public_key") return read_config_string(value, key, s.pcr_public_key, label);
    if (name == "imager_output") return read_config_string(value, key, s.imager_output, label);
    if (name == "installer_repository") return read_config_string(value, key, s.installer_repository, label);
    if (name == "previous_ref") return read_config_string(value, key, s.previous_ref, label);
    if (name == "source_dir") return read_config_string(value, key, s.source_dir, label);
    if (name == "make_latest") return read_config_bool(value, key, s.make_latest, label);
    if (name == "registry_username") return read_config_string(value, key, s.registry.username, label);
    if (name == "registry_password_file") return read_config_string(value, key, password_file, label);
    if (name == "plain_http") return read_config_bool(value, key, s.registry.plain_http, label);
    if (name == "registry_ca_file") return read_config_string(value, key, s.registry.ca_file, label);
    if (name == "github_api") return read_config_string(value, key, s.github_api, label);
    if (name == "github_token_file") return read_config_string(value, key, s.github_token_file, label);
    if (name == "require_cmdline") return read_config_list(value, key, s.require_cmdline, label);
    if (name == "forbid_cmdline") return read_config_list(value, key, s.forbid_cmdline, label);
    if (name == "imager_command") {
      if (value.IsSequence()) return read_config_list(value, key, s.imager_command, label);
      std::string text;
      if (auto r = read_config_string(value, key, text, label); !r) return r;
      auto words = split_command(text);
      if (!words) return config_error(label, key + ": " + words.error().message());
      s.imager_command = std::move(*words);
      return {};
    }
    return config_error(label, "unknown key " + key);
  });
  if (!st) return fail(st.error());
  if (!password_file.empty()) s.registry.password_file = password_file;
  if (auto r = check_placeholders(s.imager_command, label, "run.imager_command"); !r) return fail(r.error());
  return s;
}

Result<RunSettings> load_run_config(const fs::path& path) {
  auto text = read_small_file(path);
  if (!text) return fail(ErrorKind::config, "--config: " + text.error().message());
  return parse_run_config(*text, path.string());
}

fs::path default_state_dir() {
  auto env = [](const char* name) -> std::string {
    const char* v = std::getenv(name);
    return v ? v : "";
  };
  if (auto v = env("SBPIPE_STATE_DIR"); !v.empty()) return v;
  if (auto v = env("STATE_DIRECTORY"); !v.empty()) return fs::path(v.substr(0, v.find(':')));  // systemd may list several
  if (auto v = env("XDG_STATE_HOME"); !v.empty()) return fs::path(v) / "sbpipe";
  if (auto v = env("HOME"); !v.empty()) return fs::path(v) / ".local/state/sbpipe";
  return "/var/lib/sbpipe";
}

Result<json> run_pipeline(const RunRequest& request, const RunSettings& settings, const PlanConfig& plan_config,
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

Result<std::string> run_dry_text(const std::string& tag, const RunSettings& settings, const PlanConfig& plan_config) {
  auto plan = make_plan(tag, plan_config, nullptr);
  if (!plan) return fail(plan.error());
  auto dir = parse_publish_target(settings.target);
  if (!dir) return fail(dir.error());
  fs::path version_dir = state_root(settings) / tag;
  std::string out = "state    " + version_dir.string() + "\n";
  for (const auto& inv : plan->invocations) {
    auto argv = imager_argv(settings, inv, version_dir / ("imager-" + inv.name), version_dir / "no-keys");
    if (!argv) return fail(argv.error());
    out += "imager   ";
    for (size_t i = 0; i < argv->size(); ++i) out += (i ? " " : "") + shell_quote((*argv)[i]);
    out += "\n";
  }
  out += "verify   SecureBoot outputs against " + cert_path(settings) + " and the PCR key " + pcr_public_path(settings) + "\n";
  out += "push     " +
         (settings.installer_repository.empty() ? std::string("(no run.installer_repository)")
                                                : settings.installer_repository + ":" + tag) +
         "\n";
  out += "publish  " + (*dir ? "dir " + (**dir / tag).string() : "GitHub release " + tag + " of " + settings.repo) + "\n";
  return out;
}

std::string run_summary(const json& steps) {
  Table table;
  const json empty = json::object();
  auto step = [&](const char* name) -> const json& { return steps.contains(name) ? steps[name] : empty; };
  const auto& push = step("push-installer");
  table.add_row({"installer", push.contains("ref") ? push["ref"].get<std::string>() : std::string("(not pushed)")});
  const auto& upload = step("upload-assets");
  if (upload.contains("assets"))
    for (const auto& a : upload["assets"])
      table.add_row({"asset", a.value("name", ""), a.value("result", ""), a.value("sha256", "")});
  const auto& fin = step("finalize");
  table.add_row({"release", fin.value("release", std::string("(not finalized)"))});
  return table.render();
}

}  // namespace sbpipe

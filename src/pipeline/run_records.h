#pragma once
// The records `sbpipe run` writes into a version's journal (run_state.h),
// one struct per step with one to_json and one from_json, so the runner,
// its summary and `run -o json` share one definition. The JSON shapes are
// public (README "Machine output": run's "steps"), and unchanged:
//   plan            {"plan": <plan JSON>, "provenance": {"commit", "url"} | null}
//   release         {"id"?: N, "state"?: "prerelease" | "draft"}
//   imager:<name>   {"file": F, "stamp": "<size>:<mtime>"}
//   verify          {verify's JSON (ok, binaries), "continuity": {"checked", "first_release"?, "previous"?, "rotation"?}}
//   push-installer  {"ref": REF@DIGEST, "digest": D} | {"skipped": true}
//   upload-assets   {"assets": [{"name", "result", "size", "sha256"}]}
//   finalize        {"release": URL-or-path, "changed": B}
// from_json fails with invalid_input naming the journal, the step and the
// field (a journal edited by hand, or written by another version).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipeline/provenance.h"
#include "pipeline/run_state.h"
#include "release/assets.h"
#include "release/target.h"

namespace sbpipe {

struct PlanRecord {
  nlohmann::json plan;  // plan_json's form: a re-run compares it with its own plan
  std::optional<Provenance> provenance;
  nlohmann::json to_json() const;
  static Result<PlanRecord> from_json(const nlohmann::json& j, const std::string& where);
};

struct ReleaseRecord {
  std::optional<int64_t> id;
  std::optional<ReleaseState> state;  // what it was when the run began
  nlohmann::json to_json() const;
  static Result<ReleaseRecord> from_json(const nlohmann::json& j, const std::string& where);
};

struct ImagerRecord {
  std::string file;
  std::string stamp;
  nlohmann::json to_json() const;
  static Result<ImagerRecord> from_json(const nlohmann::json& j, const std::string& where);
};

struct ContinuityRecord {
  bool checked = false;
  bool first_release = false;
  std::string previous;               // the previous release's installer, when compared
  std::vector<std::string> rotation;  // the changes allowed with --allow-key-rotation
  nlohmann::json to_json() const;
  static Result<ContinuityRecord> from_json(const nlohmann::json& j, const std::string& where);
};

struct VerifyRecord {
  nlohmann::json verdicts;  // verdicts_json's object
  ContinuityRecord continuity;
  nlohmann::json to_json() const;
  static Result<VerifyRecord> from_json(const nlohmann::json& j, const std::string& where);
};

struct PushRecord {
  bool skipped = false;
  std::string ref;  // REGISTRY/REPO:TAG@sha256:<hex>
  std::string digest;
  nlohmann::json to_json() const;
  static Result<PushRecord> from_json(const nlohmann::json& j, const std::string& where);
};

struct UploadRecord {
  std::vector<AssetReport> assets;
  nlohmann::json to_json() const;
  static Result<UploadRecord> from_json(const nlohmann::json& j, const std::string& where);
};

struct FinalizeRecord {
  std::string release;
  bool changed = false;
  nlohmann::json to_json() const;
  static Result<FinalizeRecord> from_json(const nlohmann::json& j, const std::string& where);
};

// The record of `step` in `state`; nullopt when the step is not done.
template <typename Record>
Result<std::optional<Record>> read_record(const RunState& state, const std::string& step) {
  if (!state.done(step)) return std::optional<Record>();
  auto r = Record::from_json(state.output(step), state.journal_path().string() + ": step " + step);
  if (!r) return fail(r.error());
  return std::optional<Record>(std::move(*r));
}

// What a run made, read back from its journal's steps: the pushed
// installer, the published assets and the release, for the summary and
// `run -o json`. `steps` is the journal's "steps" object, as run_pipeline
// returns it. invalid_input as from_json.
struct RunResult {
  nlohmann::json steps;
  std::optional<PushRecord> push;
  std::optional<UploadRecord> upload;
  std::optional<FinalizeRecord> finalize;
};
Result<RunResult> run_result(const nlohmann::json& steps, const std::string& where);

}  // namespace sbpipe

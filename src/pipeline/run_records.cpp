#include "pipeline/run_records.h"

#include "core/json_fields.h"

namespace sbpipe {
using json = nlohmann::json;

json PlanRecord::to_json() const { return {{"plan", plan}, {"provenance", provenance ? provenance_json(*provenance) : json()}}; }

Result<PlanRecord> PlanRecord::from_json(const json& j, const std::string& where) {
  JsonFields f(j, "", where);
  if (auto st = f.require_object(); !st) return fail(st.error());
  auto plan = f.object("plan");
  if (!plan) return fail(plan.error());
  PlanRecord r{**plan, std::nullopt};
  if (j.contains("provenance") && !j.at("provenance").is_null()) {
    auto p = provenance_from_json(j.at("provenance"), where);
    if (!p) return fail(p.error());
    r.provenance = *p;
  }
  return r;
}

json ReleaseRecord::to_json() const {
  json j = json::object();
  if (id) j["id"] = *id;
  if (state) j["state"] = *state == ReleaseState::draft ? "draft" : "prerelease";  // parse_release_state's words
  return j;
}

Result<ReleaseRecord> ReleaseRecord::from_json(const json& j, const std::string& where) {
  JsonFields f(j, "", where);
  if (auto st = f.require_object(); !st) return fail(st.error());
  auto id = f.optional_integer("id");
  if (!id) return fail(id.error());
  auto state = f.optional_text("state");
  if (!state) return fail(state.error());
  auto parsed = parse_release_state(state->value_or(""), where + ": state");
  if (!parsed) return fail(ErrorKind::invalid_input, parsed.error().message());
  return ReleaseRecord{*id, *parsed};
}

json ImagerRecord::to_json() const { return {{"file", file}, {"stamp", stamp}}; }

Result<ImagerRecord> ImagerRecord::from_json(const json& j, const std::string& where) {
  JsonFields f(j, "", where);
  if (auto st = f.require_object(); !st) return fail(st.error());
  auto file = f.text("file");
  if (!file) return fail(file.error());
  auto stamp = f.text("stamp");
  if (!stamp) return fail(stamp.error());
  return ImagerRecord{*file, *stamp};
}

json ContinuityRecord::to_json() const {
  json j{{"checked", checked}};
  if (first_release) j["first_release"] = true;
  if (!previous.empty()) j["previous"] = previous;
  if (checked && !first_release) j["rotation"] = rotation;
  return j;
}

Result<ContinuityRecord> ContinuityRecord::from_json(const json& j, const std::string& where) {
  JsonFields f(j, "continuity", where);
  if (auto st = f.require_object(); !st) return fail(st.error());
  auto checked = f.boolean("checked");
  if (!checked) return fail(checked.error());
  auto first = f.optional_boolean("first_release");
  if (!first) return fail(first.error());
  auto previous = f.optional_text("previous");
  if (!previous) return fail(previous.error());
  ContinuityRecord r{*checked, first->value_or(false), previous->value_or(""), {}};
  if (j.contains("rotation")) {
    auto rotation = f.texts("rotation");
    if (!rotation) return fail(rotation.error());
    r.rotation = std::move(*rotation);
  }
  return r;
}

json VerifyRecord::to_json() const {
  json j = verdicts;
  j["continuity"] = continuity.to_json();
  return j;
}

Result<VerifyRecord> VerifyRecord::from_json(const json& j, const std::string& where) {
  JsonFields f(j, "", where);
  if (auto st = f.require_object(); !st) return fail(st.error());
  auto continuity = f.object("continuity");
  if (!continuity) return fail(continuity.error());
  auto c = ContinuityRecord::from_json(**continuity, where);
  if (!c) return fail(c.error());
  json verdicts = j;
  verdicts.erase("continuity");
  return VerifyRecord{std::move(verdicts), std::move(*c)};
}

json PushRecord::to_json() const {
  if (skipped) return {{"skipped", true}};
  return {{"ref", ref}, {"digest", digest}};
}

Result<PushRecord> PushRecord::from_json(const json& j, const std::string& where) {
  JsonFields f(j, "", where);
  if (auto st = f.require_object(); !st) return fail(st.error());
  auto skipped = f.optional_boolean("skipped");
  if (!skipped) return fail(skipped.error());
  if (skipped->value_or(false)) return PushRecord{true, "", ""};
  auto ref = f.text("ref");
  if (!ref) return fail(ref.error());
  auto digest = f.text("digest");
  if (!digest) return fail(digest.error());
  return PushRecord{false, *ref, *digest};
}

json UploadRecord::to_json() const { return {{"assets", report_json(assets)}}; }

Result<UploadRecord> UploadRecord::from_json(const json& j, const std::string& where) {
  JsonFields f(j, "", where);
  if (auto st = f.require_object(); !st) return fail(st.error());
  auto list = f.list("assets");
  if (!list) return fail(list.error());
  UploadRecord r;
  for (size_t i = 0; i < (*list)->size(); ++i) {
    JsonFields a((**list)[i], "assets[" + std::to_string(i) + "]", where);
    if (auto st = a.require_object(); !st) return fail(st.error());
    auto name = a.text("name");
    if (!name) return fail(name.error());
    auto result = a.text("result");
    if (!result) return fail(result.error());
    auto size = a.integer("size");
    if (!size) return fail(size.error());
    auto sha256 = a.text("sha256");
    if (!sha256) return fail(sha256.error());
    std::optional<AssetOutcome> outcome;
    for (AssetOutcome o : {AssetOutcome::uploaded, AssetOutcome::replaced, AssetOutcome::unchanged})
      if (outcome_name(o) == *result) outcome = o;
    if (!outcome || *size < 0) return a.problem(a.at(outcome ? "size" : "result"), "is not valid");
    r.assets.push_back(AssetReport{*name, *outcome, static_cast<uint64_t>(*size), *sha256});
  }
  return r;
}

json FinalizeRecord::to_json() const { return {{"release", release}, {"changed", changed}}; }

Result<FinalizeRecord> FinalizeRecord::from_json(const json& j, const std::string& where) {
  JsonFields f(j, "", where);
  if (auto st = f.require_object(); !st) return fail(st.error());
  auto release = f.text("release");
  if (!release) return fail(release.error());
  auto changed = f.boolean("changed");
  if (!changed) return fail(changed.error());
  return FinalizeRecord{*release, *changed};
}

Result<RunResult> run_result(const json& steps, const std::string& where) {
  RunResult r{steps, std::nullopt, std::nullopt, std::nullopt};
  auto read = [&]<typename Record>(const char* step, std::optional<Record>& into) -> Status {
    if (!steps.is_object() || !steps.contains(step)) return {};
    auto rec = Record::from_json(steps.at(step), where + ": step " + step);
    if (!rec) return fail(rec.error());
    into = std::move(*rec);
    return {};
  };
  if (auto st = read(step_key(RunStep::push_installer).c_str(), r.push); !st) return fail(st.error());
  if (auto st = read(step_key(RunStep::upload_assets).c_str(), r.upload); !st) return fail(st.error());
  if (auto st = read(step_key(RunStep::finalize).c_str(), r.finalize); !st) return fail(st.error());
  return r;
}

}  // namespace sbpipe

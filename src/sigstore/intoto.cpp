#include "sigstore/intoto.h"

namespace sbpipe {

std::string statement_json(const std::vector<StatementSubject>& subjects, std::string_view predicate_type,
                           const nlohmann::json& predicate) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& s : subjects) {
    nlohmann::json one{{"digest", {{"sha256", s.sha256_hex}}}};
    if (!s.name.empty()) one["name"] = s.name;
    list.push_back(std::move(one));
  }
  return nlohmann::json{
      {"_type", k_statement_type}, {"subject", list}, {"predicateType", predicate_type}, {"predicate", predicate}}
      .dump();
}

Result<Statement> parse_statement(std::string_view json) {
  auto j = nlohmann::json::parse(json, nullptr, false);
  auto bad = [](const std::string& why) { return fail(ErrorKind::invalid_input, "in-toto statement: " + why); };
  if (!j.is_object()) return bad("not a JSON object");
  if (!j.contains("_type") || !j["_type"].is_string() ||
      (j["_type"] != k_statement_type && j["_type"] != "https://in-toto.io/Statement/v0.1"))
    return bad("_type is not an in-toto statement");
  if (!j.contains("subject") || !j["subject"].is_array()) return bad("no subject list");
  if (!j.contains("predicateType") || !j["predicateType"].is_string()) return bad("no predicateType");
  Statement statement;
  statement.predicate_type = j["predicateType"].get<std::string>();
  statement.predicate = j.contains("predicate") ? j["predicate"] : nlohmann::json();
  for (const auto& s : j["subject"]) {
    if (!s.is_object() || !s.contains("digest") || !s["digest"].is_object()) continue;
    const auto& d = s["digest"];
    if (!d.contains("sha256") || !d["sha256"].is_string()) continue;
    std::string name = s.contains("name") && s["name"].is_string() ? s["name"].get<std::string>() : "";
    statement.subjects.push_back(StatementSubject{std::move(name), d["sha256"].get<std::string>()});
  }
  return statement;
}

}  // namespace sbpipe

#pragma once
// The contract of `--format json`: README.md's "Machine output" table lists,
// per command, each top-level field and its type. check_machine_output()
// holds a command's real output against that table: schemaVersion 1 first,
// every documented field present with its type, and no undocumented field.

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>

#include "support/process.h"

namespace sbpipe::test {

// command -> field -> type, from README.md's "## Machine output" section.
inline std::map<std::string, std::map<std::string, std::string>> documented_machine_output() {
  std::ifstream in(source_dir() + "/README.md");
  std::map<std::string, std::map<std::string, std::string>> out;
  bool inside = false;
  static const std::regex k_row(R"(^\| `([a-z -]+)` \| `([A-Za-z]+)` \| ([a-z ]+) \|)");
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("## ")) inside = line == "## Machine output";
    std::smatch m;
    if (inside && std::regex_search(line, m, k_row)) out[m[1]][m[2]] = m[3];
  }
  return out;
}

inline bool has_type(const nlohmann::json& value, const std::string& type) {
  if (type == "string") return value.is_string();
  if (type == "string or null") return value.is_string() || value.is_null();
  if (type == "boolean") return value.is_boolean();
  if (type == "integer") return value.is_number_integer();
  if (type == "array") return value.is_array();
  if (type == "object") return value.is_object();
  return false;
}

inline void check_machine_output(const std::string& command, const std::string& stdout_text) {
  auto table = documented_machine_output();
  REQUIRE_MESSAGE(table.contains(command), "README.md's Machine output table has no rows for " << command);
  CHECK_MESSAGE(stdout_text.starts_with("{\"schemaVersion\":1,"), stdout_text);
  CHECK(stdout_text.ends_with("}\n"));
  CHECK(stdout_text.find('\n') == stdout_text.size() - 1);  // one line
  auto doc = nlohmann::json::parse(stdout_text);
  CHECK(doc["schemaVersion"] == 1);
  for (const auto& [field, type] : table[command]) {
    CHECK_MESSAGE(doc.contains(field), command << ": documented field " << field << " is missing");
    if (doc.contains(field)) CHECK_MESSAGE(has_type(doc[field], type), command << ": " << field << " is not " << type);
  }
  for (const auto& [field, value] : doc.items())
    CHECK_MESSAGE((field == "schemaVersion" || table[command].contains(field)),
                  command << ": field " << field << " is not in README.md's Machine output table");
}

}  // namespace sbpipe::test

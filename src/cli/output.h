#pragma once
// Results for machines on stdout, and the checks of flags that choose a
// format.

#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "core/error.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace sbpipe {

// Prints one result line to stdout and flushes it.
void print_result_line(const std::string& line);

// Prints text (which ends in its own newline) to stdout and flushes it.
void print_result_text(const std::string& text);

// The version of every `--format json` document's shape. It goes up by one
// when a documented top-level field changes meaning or goes away; adding a
// field keeps it. README.md's "Machine output" section lists the fields.
inline constexpr int k_schema_version = 1;

// Prints `fields` (a JSON object) as one line on stdout, with
// "schemaVersion" first: the one way a command prints its --format json.
void print_json_result(const nlohmann::json& fields);

// The same document as YAML (a block mapping, "schemaVersion: 1" first),
// for `-o yaml`: what kubectl and argo print for -o yaml. Strings that
// YAML would read as something else (true, 1.0, null, "a: b") are quoted.
void print_yaml_result(const nlohmann::json& fields);

// print_json_result or print_yaml_result as `format` ("json", "yaml") says.
void print_structured_result(std::string_view format, const nlohmann::json& fields);

// The YAML text of a JSON value (what print_yaml_result prints, without schemaVersion).
std::string yaml_text(const nlohmann::json& value);

// Adds `-o,--format` whose help shows the choices ({text,json}) and the
// default; check the value with check_choice when the command runs.
CLI::Option* add_format_flag(CLI::App& cmd, std::string& format, std::initializer_list<std::string_view> choices,
                             const std::string& description);

// usage error "<flag> must be a, b or c" unless `value` is one of `allowed`.
Status check_choice(std::string_view flag, std::string_view value, std::initializer_list<std::string_view> allowed);

}  // namespace sbpipe

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

// Adds `-o,--format` whose help shows the choices ({text,json}) and the
// default; check the value with check_choice when the command runs.
CLI::Option* add_format_flag(CLI::App& cmd, std::string& format, std::initializer_list<std::string_view> choices,
                             const std::string& description);

// usage error "<flag> must be a, b or c" unless `value` is one of `allowed`.
Status check_choice(std::string_view flag, std::string_view value, std::initializer_list<std::string_view> allowed);

}  // namespace sbpipe

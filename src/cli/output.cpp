#include "cli/output.h"

#include <unistd.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/escape.h"

namespace sbpipe {

void print_result_line(const std::string& line) {
  std::fputs((line + "\n").c_str(), stdout);
  std::fflush(stdout);
}

void print_result_text(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

namespace {

// Every string (and key) as valid UTF-8: a name that is not (an archive
// member's, say) shows its odd bytes as "\xNN", as the text output does,
// instead of failing the dump (issue 30).
nlohmann::ordered_json utf8_only(const nlohmann::json& value) {
  if (value.is_string()) return escape_invalid_utf8(value.get_ref<const std::string&>());
  if (value.is_array()) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& item : value) out.push_back(utf8_only(item));
    return out;
  }
  if (value.is_object()) {
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (const auto& [key, item] : value.items()) out[escape_invalid_utf8(key)] = utf8_only(item);
    return out;
  }
  return value;
}

}  // namespace

void print_json_result(const nlohmann::json& fields) {
  // ordered_json keeps schemaVersion first, where a reader looks for it.
  nlohmann::ordered_json out{{"schemaVersion", k_schema_version}};
  for (const auto& [key, value] : fields.items()) out[escape_invalid_utf8(key)] = utf8_only(value);
  print_result_line(escape_json_c1(out.dump()));
}

CLI::Option* add_format_flag(CLI::App& cmd, std::string& format, std::initializer_list<std::string_view> choices,
                             const std::string& description) {
  std::string type = "{";
  for (auto choice : choices) type += (type.size() == 1 ? "" : ",") + std::string(choice);
  return cmd.add_option("-o,--format", format, description)->capture_default_str()->type_name(type + "}");
}

Status check_choice(std::string_view flag, std::string_view value, std::initializer_list<std::string_view> allowed) {
  std::string list;
  size_t i = 0;
  for (auto choice : allowed) {
    if (choice == value) return {};
    list += (i == 0 ? "" : i + 1 == allowed.size() ? " or " : ", ") + std::string(choice);
    ++i;
  }
  return fail(ErrorKind::usage, std::string(flag) + " must be " + list);
}

}  // namespace sbpipe

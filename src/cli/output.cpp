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

// Whether a string may be written as a plain YAML scalar and read back as
// the same string (YAML 1.1 and 1.2 readers alike): no indicator first, no
// ": " or " #", not a word or number YAML would type.
bool plain_scalar(const std::string& s) {
  if (s.empty() || s.size() > 200) return false;
  static const char* const k_typed[] = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"};
  std::string lower;
  for (char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* word : k_typed)
    if (lower == word) return false;
  if (std::string("-?:,[]{}#&*!|>'\"%@` ").find(s.front()) != std::string::npos) return false;
  if (s.back() == ' ' || s.back() == ':') return false;
  if (s.find(": ") != std::string::npos || s.find(" #") != std::string::npos) return false;
  bool numeric = true;
  for (char c : s)
    numeric = numeric && (std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '+' || c == 'e' ||
                          c == 'E' || c == '_' || c == 'x' || c == 'o');
  if (numeric) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) return false;
    // U+0080..U+009F (C1 controls, 0xC2 0x80..0x9F): quoted, and escaped as in JSON.
    if (c == 0xc2 && i + 1 < s.size() && (static_cast<unsigned char>(s[i + 1]) & 0xe0) == 0x80) return false;
  }
  return true;
}

std::string scalar(const nlohmann::ordered_json& value) {
  if (value.is_string()) {
    const auto& s = value.get_ref<const std::string&>();
    return plain_scalar(s) ? s : escape_json_c1(value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  return value.dump();  // numbers, booleans, null: JSON and YAML spell them alike
}

void yaml_lines(const nlohmann::ordered_json& value, int indent, std::string& out);

// A value after "key:" or "- ": on the same line when a scalar or empty.
void yaml_value(const nlohmann::ordered_json& value, int indent, std::string& out) {
  if (value.is_object() && !value.empty()) {
    out += "\n";
    yaml_lines(value, indent, out);
  } else if (value.is_array() && !value.empty()) {
    out += "\n";
    yaml_lines(value, indent, out);
  } else if (value.is_object()) {
    out += " {}\n";
  } else if (value.is_array()) {
    out += " []\n";
  } else {
    out += " " + scalar(value) + "\n";
  }
}

void yaml_lines(const nlohmann::ordered_json& value, int indent, std::string& out) {
  std::string pad(static_cast<size_t>(indent), ' ');
  if (value.is_object()) {
    for (const auto& [key, item] : value.items()) {
      out += pad + scalar(nlohmann::ordered_json(key)) + ":";
      yaml_value(item, indent + 2, out);
    }
  } else if (value.is_array()) {
    for (const auto& item : value) {
      if (item.is_object() && !item.empty()) {
        // "- key: value" with the mapping's other keys under the first.
        std::string nested;
        yaml_lines(item, indent + 2, nested);
        out += pad + "- " + nested.substr(static_cast<size_t>(indent) + 2);
      } else {
        out += pad + "-";
        yaml_value(item, indent + 2, out);
      }
    }
  } else {
    out += pad + scalar(value) + "\n";
  }
}

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

nlohmann::ordered_json with_schema(const nlohmann::json& fields) {
  // ordered_json keeps schemaVersion first, where a reader looks for it.
  nlohmann::ordered_json out{{"schemaVersion", k_schema_version}};
  for (const auto& [key, value] : fields.items()) out[escape_invalid_utf8(key)] = utf8_only(value);
  return out;
}

}  // namespace

void print_json_result(const nlohmann::json& fields) { print_result_line(escape_json_c1(with_schema(fields).dump())); }

std::string yaml_text(const nlohmann::json& value) {
  std::string out;
  yaml_lines(utf8_only(value), 0, out);
  return out;
}

void print_yaml_result(const nlohmann::json& fields) {
  std::string out;
  yaml_lines(with_schema(fields), 0, out);
  print_result_text(out);
}

void print_structured_result(std::string_view format, const nlohmann::json& fields) {
  if (format == "yaml")
    print_yaml_result(fields);
  else
    print_json_result(fields);
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

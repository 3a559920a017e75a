#include "core/systemd_credentials.h"

#include <sstream>

#include "core/file.h"

namespace sbpipe {
namespace fs = std::filesystem;

namespace {

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return std::string(s);
}

// systemd's credential search path for an ID given without an absolute path.
std::string credstore_path(const std::string& name) {
  for (const char* dir : {"/etc/credstore", "/run/credstore", "/usr/lib/credstore"}) {
    fs::path candidate = fs::path(dir) / name;
    std::error_code ec;
    if (fs::exists(candidate, ec)) return candidate.string();
  }
  return (fs::path("/etc/credstore") / name).string();
}

// ExecStart's words: split at blanks, with "..." and '...' quoting (enough
// for the unit's own line; specifiers and $VARS stay as written).
std::vector<std::string> words(std::string_view line) {
  std::vector<std::string> out;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (char c : line) {
    if (quote) {
      if (c == quote)
        quote = 0;
      else
        word += c;
    } else if (c == '"' || c == '\'') {
      quote = c;
      in_word = true;
    } else if (c == ' ' || c == '\t') {
      if (in_word) out.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) out.push_back(word);
  return out;
}

}  // namespace

Result<UnitFile> parse_unit_file(std::string_view text, const std::string& unit) {
  UnitFile out;
  out.unit = unit;
  std::istringstream lines{std::string(text)};
  std::string line, joined;
  while (std::getline(lines, line)) {
    std::string t = trim(line);
    if (joined.empty() && (t.empty() || t.front() == '#' || t.front() == ';')) continue;
    if (!t.empty() && t.back() == '\\') {  // a continuation line
      joined += t.substr(0, t.size() - 1) + " ";
      continue;
    }
    joined += t;
    std::string entry = std::move(joined);
    joined.clear();
    auto eq = entry.find('=');
    if (eq == std::string::npos) continue;
    std::string key = trim(std::string_view(entry).substr(0, eq));
    std::string value = trim(std::string_view(entry).substr(eq + 1));
    if (key == "LoadCredential" || key == "LoadCredentialEncrypted") {
      auto colon = value.find(':');
      std::string id = value.substr(0, colon);
      if (id.empty()) return fail(ErrorKind::config, unit + ": " + key + "=" + value + " names no credential");
      std::string source = colon == std::string::npos ? "" : value.substr(colon + 1);
      if (source.empty() || source.front() != '/') source = credstore_path(source.empty() ? id : source);
      out.sources[id] = source;
      if (key == "LoadCredentialEncrypted") out.encrypted.insert(id);
    } else if (key == "ExecStart") {
      std::string_view command = value;
      while (!command.empty() && (command.front() == '-' || command.front() == '@' || command.front() == '+' ||
                                  command.front() == ':' || command.front() == '!'))
        command.remove_prefix(1);  // ExecStart='s prefixes (systemd.service(5))
      out.exec_start = words(command);
    }
  }
  return out;
}

Result<UnitFile> read_unit_file(const fs::path& path) {
  auto text = read_small_file(path);
  if (!text) return fail(text.error());
  return parse_unit_file(*text, path.filename().string());
}

Result<std::optional<std::string>> credential_source(const UnitFile& unit, std::string_view path) {
  std::string id;
  for (std::string prefix : {"/run/credentials/" + unit.unit + "/", std::string("${CREDENTIALS_DIRECTORY}/"),
                             std::string("$CREDENTIALS_DIRECTORY/"), std::string("%d/")})
    if (path.starts_with(prefix)) id = std::string(path.substr(prefix.size()));
  if (id.empty() || id.find('/') != std::string::npos) return std::optional<std::string>();
  auto it = unit.sources.find(id);
  if (it == unit.sources.end())
    return fail(ErrorKind::config,
                std::string(path) + ": " + unit.unit + " loads no credential '" + id + "' (LoadCredential=" + id + ":FILE)");
  if (unit.encrypted.contains(id))
    return fail(ErrorKind::config, std::string(path) + ": " + unit.unit + " loads '" + id +
                                       "' encrypted (LoadCredentialEncrypted=): sbpipe cannot read it from a shell; check inside "
                                       "the unit with systemd-run (docs/systemd.md)");
  return std::optional<std::string>(it->second);
}

std::optional<std::string> exec_start_flag(const UnitFile& unit, std::string_view flag) {
  const auto& w = unit.exec_start;
  for (size_t i = 0; i < w.size(); ++i) {
    if (w[i] == flag && i + 1 < w.size()) return w[i + 1];
    if (w[i].starts_with(std::string(flag) + "=")) return w[i].substr(flag.size() + 1);
  }
  return std::nullopt;
}

}  // namespace sbpipe

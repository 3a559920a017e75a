#include "core/config_file.h"

namespace sbpipe {
namespace {

// YAML allows any node as a mapping key (`? [imager, x] : 1`); sbpipe's
// keys are plain names, and as<std::string>() would throw on the others.
Result<std::string> key_name(const YAML::Node& key, std::string_view label, std::string_view where) {
  if (!key.IsScalar())
    return config_error(label, std::string(where) + " has a key that is not a plain name (a " +
                                   (key.IsSequence() ? "list"
                                    : key.IsMap()    ? "mapping"
                                                     : "null") +
                                   ")");
  return key.as<std::string>();
}

bool lists_below(const ConfigSection& section, const std::string& path) {
  for (auto key : section.keys)
    if (key.size() > path.size() && key.starts_with(path) && key[path.size()] == '.') return true;
  return false;
}

bool lists(const ConfigSection& section, const std::string& path) {
  for (auto key : section.keys)
    if (key == path) return true;
  return false;
}

// The keys of `node` (a mapping at `path` below `section`) that the section
// does not know, by full path. Keys that are not plain names are the
// reader's to refuse.
void collect_unknown(const ConfigSection& section, const YAML::Node& node, const std::string& path,
                     std::vector<std::string>& unknown) {
  for (const auto& entry : node) {
    if (!entry.first.IsScalar()) continue;
    std::string key = (path.empty() ? "" : path + ".") + entry.first.as<std::string>();
    if (lists(section, key)) continue;
    if (!lists_below(section, key)) {
      unknown.push_back("key " + std::string(section.name) + "." + key);
      continue;
    }
    if (entry.second.IsMap()) collect_unknown(section, entry.second, key, unknown);
  }
}

}  // namespace

Result<std::vector<std::string>> unknown_config_keys(std::string_view yaml, std::string_view label,
                                                     std::span<const ConfigSection> sections) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return config_error(label, "not valid YAML (line " + std::to_string(e.mark.line + 1) + ": " + e.msg + ")");
  }
  std::vector<std::string> unknown;
  if (root.IsNull()) return unknown;
  if (!root.IsMap()) return config_error(label, "the top level must be a mapping");
  for (const auto& entry : root) {
    auto name = key_name(entry.first, label, "the top level");
    if (!name) return fail(name.error());
    const ConfigSection* known = nullptr;
    for (const auto& section : sections)
      if (section.name == *name) known = &section;
    if (!known)
      unknown.push_back("section " + *name);
    else if (entry.second.IsMap())
      collect_unknown(*known, entry.second, "", unknown);
  }
  return unknown;
}

Status unknown_keys_status(const std::vector<std::string>& unknown, std::string_view label,
                           std::span<const ConfigSection> sections) {
  if (unknown.empty()) return {};
  std::string message;
  bool any_section = false;
  for (const auto& u : unknown) {
    message += (message.empty() ? "unknown " : ", unknown ") + u;
    any_section = any_section || u.starts_with("section ");
  }
  if (any_section) {
    std::string names;
    for (const auto& section : sections) names += (names.empty() ? "" : ", ") + std::string(section.name);
    message += " (sections: " + names + ")";
  }
  return config_error(label, message);
}

std::unexpected<Error> config_error(std::string_view label, const std::string& message) {
  return fail(ErrorKind::config, std::string(label) + ": " + message);
}

Status visit_config_section(std::string_view yaml, std::string_view label, std::string_view section,
                            const ConfigFieldVisitor& visit) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return config_error(label, "not valid YAML (line " + std::to_string(e.mark.line + 1) + ": " + e.msg + ")");
  }
  if (root.IsNull()) return {};
  if (!root.IsMap()) return config_error(label, "the top level must be a mapping");
  for (const auto& entry : root) {
    auto name = key_name(entry.first, label, "the top level");
    if (!name) return fail(name.error());
    if (*name != section) continue;
    const YAML::Node& fields = entry.second;
    if (fields.IsNull()) continue;
    if (!fields.IsMap()) return config_error(label, std::string(section) + " must be a mapping");
    // Every field is visited, so that each refused value is named in one
    // message ("F: run.make_latest must be true or false; run.keys_dir must
    // be a string"), not only the first.
    std::string refused;
    for (const auto& field : fields) {
      auto field_name = key_name(field.first, label, section);
      if (!field_name) return fail(field_name.error());
      if (auto st = visit(*field_name, field.second); !st) {
        std::string message = st.error().message();
        std::string prefix = std::string(label) + ": ";
        refused += (refused.empty() ? "" : "; ") + (message.starts_with(prefix) ? message.substr(prefix.size()) : message);
      }
    }
    if (!refused.empty()) return config_error(label, refused);
  }
  return {};
}

Status read_config_string(const YAML::Node& node, std::string_view key, std::string& out, std::string_view label) {
  if (!node.IsScalar()) return config_error(label, std::string(key) + " must be a string");
  out = node.as<std::string>();
  return {};
}

Status read_config_list(const YAML::Node& node, std::string_view key, std::vector<std::string>& out, std::string_view label) {
  if (!node.IsSequence()) return config_error(label, std::string(key) + " must be a list of strings");
  out.clear();
  for (const auto& item : node) {
    if (!item.IsScalar()) return config_error(label, std::string(key) + " must be a list of strings");
    out.push_back(item.as<std::string>());
  }
  return {};
}

Status read_config_int(const YAML::Node& node, std::string_view key, int& out, std::string_view label) {
  try {
    if (!node.IsScalar()) return config_error(label, std::string(key) + " must be a number");
    out = node.as<int>();
    return {};
  } catch (const YAML::Exception&) {
    return config_error(label, std::string(key) + " must be a number");
  }
}

Status read_config_bool(const YAML::Node& node, std::string_view key, bool& out, std::string_view label) {
  try {
    if (!node.IsScalar()) return config_error(label, std::string(key) + " must be true or false");
    out = node.as<bool>();
    return {};
  } catch (const YAML::Exception&) {
    return config_error(label, std::string(key) + " must be true or false");
  }
}

}  // namespace sbpipe

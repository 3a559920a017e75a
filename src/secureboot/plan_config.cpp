// The `imager:` section of the sbpipe config file (yaml-cpp).

#include <yaml-cpp/yaml.h>

#include "core/file.h"
#include "secureboot/plan.h"

namespace sbpipe {
namespace {

std::unexpected<Error> config_error(std::string_view label, const std::string& message) {
  return fail(ErrorKind::config, std::string(label) + ": " + message);
}

Status read_string(const YAML::Node& node, const std::string& key, std::string& out, std::string_view label) {
  if (!node.IsScalar()) return config_error(label, "imager." + key + " must be a string");
  out = node.as<std::string>();
  return {};
}

Status read_list(const YAML::Node& node, const std::string& key, std::vector<std::string>& out, std::string_view label) {
  if (!node.IsSequence()) return config_error(label, "imager." + key + " must be a list of strings");
  out.clear();
  for (const auto& item : node) {
    if (!item.IsScalar()) return config_error(label, "imager." + key + " must be a list of strings");
    out.push_back(item.as<std::string>());
  }
  return {};
}

} // namespace

Result<PlanConfig> parse_plan_config(std::string_view yaml, std::string_view label) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return config_error(label, "not valid YAML (line " + std::to_string(e.mark.line + 1) + ": " + e.msg + ")");
  }
  PlanConfig config;
  if (root.IsNull()) return config;
  if (!root.IsMap()) return config_error(label, "the top level must be a mapping");
  for (const auto& entry : root) {
    auto key = entry.first.as<std::string>();
    // Sections of other commands live beside this one.
    if (key != "imager") continue;
    const YAML::Node& section = entry.second;
    if (section.IsNull()) continue;
    if (!section.IsMap()) return config_error(label, "imager must be a mapping");
    for (const auto& field : section) {
      auto name = field.first.as<std::string>();
      const YAML::Node& value = field.second;
      Status st;
      if (name == "image") st = read_string(value, name, config.imager_image, label);
      else if (name == "outputs") st = read_list(value, name, config.outputs, label);
      else if (name == "architectures") st = read_list(value, name, config.architectures, label);
      else if (name == "base_installer_image") st = read_string(value, name, config.base_installer_image, label);
      else if (name == "system_extensions") st = read_list(value, name, config.system_extensions, label);
      else if (name == "extra_kernel_args") st = read_list(value, name, config.extra_kernel_args, label);
      else if (name == "secureboot_kernel_args") st = read_list(value, name, config.secureboot_kernel_args, label);
      else if (name == "meta") st = read_list(value, name, config.meta, label);
      else return config_error(label, "unknown key imager." + name);
      if (!st) return fail(st.error());
    }
  }
  return config;
}

Result<PlanConfig> load_plan_config(const std::filesystem::path& path) {
  auto text = read_small_file(path);
  if (!text) return fail(ErrorKind::config, "--config: " + text.error().message());
  return parse_plan_config(*text, path.string());
}

} // namespace sbpipe

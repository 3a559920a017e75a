// The `imager:` section of the sbpipe config file.

#include "core/config_file.h"
#include "core/file.h"
#include "plan/plan.h"

namespace sbpipe {
namespace {

// What parse_plan_config reads (keep the two together).
constexpr std::string_view k_imager_keys[] = {"image",
                                              "outputs",
                                              "architectures",
                                              "base_installer_image",
                                              "system_extensions",
                                              "extra_kernel_args",
                                              "secureboot_kernel_args",
                                              "meta",
                                              "talos_version",
                                              "secureboot_include_well_known_certs",
                                              "pxe",
                                              "unverified_outputs",
                                              "enroll_keys",
                                              "image_verification"};

}  // namespace

ConfigSection plan_config_section() { return {"imager", k_imager_keys}; }

Result<PlanConfig> parse_plan_config(std::string_view yaml, std::string_view label) {
  PlanConfig config;
  auto st = visit_config_section(yaml, label, "imager", [&](const std::string& name, const YAML::Node& value) -> Status {
    std::string key = "imager." + name;
    if (name == "image") return read_config_string(value, key, config.imager_image, label);
    if (name == "outputs") return read_config_list(value, key, config.outputs, label);
    if (name == "architectures") return read_config_list(value, key, config.architectures, label);
    if (name == "base_installer_image") return read_config_string(value, key, config.base_installer_image, label);
    if (name == "system_extensions") return read_config_list(value, key, config.system_extensions, label);
    if (name == "extra_kernel_args") return read_config_list(value, key, config.extra_kernel_args, label);
    if (name == "secureboot_kernel_args") return read_config_list(value, key, config.secureboot_kernel_args, label);
    if (name == "meta") return read_config_list(value, key, config.meta, label);
    if (name == "talos_version") return read_config_string(value, key, config.talos_version, label);
    if (name == "secureboot_include_well_known_certs")
      return read_config_bool(value, key, config.secureboot_include_well_known_certs, label);
    if (name == "pxe") return read_config_bool(value, key, config.pxe, label);
    if (name == "unverified_outputs") return read_config_list(value, key, config.unverified_outputs, label);
    if (name == "enroll_keys") return read_config_string(value, key, config.enroll_keys, label);
    if (name == "image_verification") {
      auto rules = parse_image_verification(YAML::Dump(value), key, label);
      if (!rules) return fail(rules.error());
      config.image_verification = std::move(*rules);
      return {};
    }
    return config_error(label, "unknown key " + key);
  });
  if (!st) return fail(st.error());
  return config;
}

Result<PlanConfig> load_plan_config(const std::filesystem::path& path) {
  auto text = read_small_file(path);
  if (!text) return fail(ErrorKind::config, "--config: " + text.error().message());
  return parse_plan_config(*text, path.string());
}

}  // namespace sbpipe

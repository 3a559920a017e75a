#pragma once
// The sbpipe YAML config file: one file, one top-level section per concern
// (`imager:` for plan, `serve:` for the receiver, ...). Each reader visits
// its own section's fields and ignores the others. yaml-cpp types appear
// only here and in the readers' .cpp files.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "core/config_keys.h"
#include "core/error.h"

namespace sbpipe {

// Calls `visit(name, value)` for each field of `section`, every one even
// after a refusal; the config error then names `label` (the file) and every
// refused key, "; "-separated. A missing or empty section visits nothing.
using ConfigFieldVisitor = std::function<Status(const std::string& name, const YAML::Node& value)>;
Status visit_config_section(std::string_view yaml, std::string_view label, std::string_view section,
                            const ConfigFieldVisitor& visit);

// Typed field readers; `key` is the qualified name for messages ("serve.listen").
Status read_config_string(const YAML::Node& node, std::string_view key, std::string& out, std::string_view label);
Status read_config_list(const YAML::Node& node, std::string_view key, std::vector<std::string>& out, std::string_view label);
Status read_config_int(const YAML::Node& node, std::string_view key, int& out, std::string_view label);
Status read_config_bool(const YAML::Node& node, std::string_view key, bool& out, std::string_view label);

std::unexpected<Error> config_error(std::string_view label, const std::string& message);

}  // namespace sbpipe

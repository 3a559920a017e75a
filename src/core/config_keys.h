#pragma once
// The key names the sections of the sbpipe config file know, and the check
// of a whole file against them (implemented with the section reader in
// config_file.cpp). Kept apart from config_file.h so that a section's
// header can name its keys without pulling in yaml-cpp.

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace sbpipe {

// The keys one top-level section knows, as paths below the section
// ("repo", "kubernetes.parameters.version"). A key is known when it is
// listed (its value is the reader's to check) or when listed keys lie below
// it (then it must be a mapping, and its keys are checked in turn).
struct ConfigSection {
  std::string_view name;
  std::span<const std::string_view> keys;
};

// Every unknown key and unknown top-level section of the file, by full path
// ("run.imager_outptus", "imagr"), in file order; empty when all are known.
// config error when the file is not YAML or not a mapping at the top.
Result<std::vector<std::string>> unknown_config_keys(std::string_view yaml, std::string_view label,
                                                     std::span<const ConfigSection> sections);

// config error naming each of `unknown` with the file: "F: unknown key
// run.x, unknown section imagr (sections: imager, serve, run)"; ok when empty.
Status unknown_keys_status(const std::vector<std::string>& unknown, std::string_view label,
                           std::span<const ConfigSection> sections);

}  // namespace sbpipe

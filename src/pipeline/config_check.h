#pragma once
// The sbpipe config file as a whole: the sections the commands read
// (`imager:` secureboot/plan.h, `serve:` webhook/serve_config.h, `run:`
// run_config.h), the check every command that reads the file makes first,
// and the commented example `sbpipe config init` writes (the installed
// manifests/systemd/sbpipe.yaml, compiled in: one source).

#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "core/config_keys.h"
#include "core/error.h"

namespace sbpipe {

// imager, serve, run.
std::span<const ConfigSection> config_sections();

// The file's text checked: config error naming, in one message, every
// unknown key and unknown section with its full path, then every section
// whose reader refuses a value (the key and the type it must have):
//   "F: unknown key run.imager_outptus, unknown section imagr (sections: ...)"
//   "F: run.make_latest must be true or false; serve.threads must be a number"
// Then the values (outputs, architectures, target, repositories, ...), each
// with a suggestion when one is close, all in one message. The example's
// placeholder OWNER left in a value is refused with Placeholders::refuse
// (`config check`); the commands that merely read the file allow it (the
// manifests ship a config with it, for `sbpipe manifests render`).
enum class Placeholders { allow, refuse };
Status check_config_text(std::string_view yaml, std::string_view label, Placeholders placeholders = Placeholders::allow);

// Reads `path` (config error "--config: ..." when it cannot be read) and
// checks it as check_config_text does, labelled with the path. Every
// command that reads the file calls this before its sections' loaders
// (load_plan_config, load_serve_config, load_run_config).
Status check_config_file(const std::filesystem::path& path, Placeholders placeholders = Placeholders::allow);

// The commented example config (manifests/systemd/sbpipe.yaml): file
// paths for secrets, never a secret value.
std::string_view example_config();

}  // namespace sbpipe

#pragma once
// The state directory of `sbpipe run`, `serve --executor local` and `sbpipe
// runs`, chosen the same way by each: --state-dir, else run.state_dir of
// --config, else pipeline/run_config.h default_state_dir() (SBPIPE_STATE_DIR,
// systemd's STATE_DIRECTORY, $XDG_STATE_HOME/sbpipe, ~/.local/state/sbpipe).

#include <filesystem>
#include <string>

#include "core/error.h"

namespace sbpipe {

// An absolute path. config errors of reading --config pass through.
Result<std::filesystem::path> chosen_state_dir(const std::string& state_flag, const std::string& config);

}  // namespace sbpipe

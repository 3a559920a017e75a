#include "cli/state_dir.h"

#include "pipeline/run_config.h"

namespace sbpipe {

Result<std::filesystem::path> chosen_state_dir(const std::string& state_flag, const std::string& config) {
  std::string state = state_flag;
  if (state.empty() && !config.empty()) {
    auto run = load_run_config(config);
    if (!run) return fail(run.error());
    state = run->state_dir;
  }
  if (state.empty()) state = default_state_dir().string();
  return std::filesystem::absolute(state);
}

}  // namespace sbpipe

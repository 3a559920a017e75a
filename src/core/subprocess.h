#pragma once
// Running another program (imager through its command template, or a
// `sbpipe run` started by the local executor) and waiting for it. The child
// gets this process's environment minus the names in `unset_env`, so tokens
// and passwords meant for sbpipe never reach it.

#include <sys/types.h>
#include <atomic>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"

namespace sbpipe {

struct ChildSpec {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH when it has no '/'
  std::vector<std::string> unset_env;
  std::vector<std::pair<std::string, std::string>> set_env;
  // Where the child's stdout and stderr go: appended to this file, or (empty)
  // its stdout to our stderr (stdout is for results) and its stderr to ours.
  std::optional<std::filesystem::path> output;
  // In a process group of its own (its pid), so that kill(-pid) reaches
  // what it starts too.
  bool new_process_group = false;
};

// Starts the child and waits. Returns its exit status, or 128+N when signal
// N ended it. io error when it could not be started. `pid_out`, when given,
// holds the child's pid while it runs (0 otherwise), for a stopper thread.
Result<int> run_child(const ChildSpec& spec, std::atomic<pid_t>* pid_out = nullptr);

// The program posix_spawnp would start for `name`: `name` itself when it
// holds a '/' (if it is an executable file), else the first executable
// file named so in a PATH entry (an empty entry is the current directory).
// nullopt when there is none.
std::optional<std::string> find_program(const std::string& name);

// The names sbpipe reads secrets from; children never inherit them.
const std::vector<std::string>& secret_env_names();

}  // namespace sbpipe

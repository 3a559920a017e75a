#pragma once
// Running another program (imager through its command template, or a
// `sbpipe run` started by the local executor) and waiting for it. The child
// gets this process's environment minus the names in `unset_env`, so tokens
// and passwords meant for sbpipe never reach it.

#include <sys/types.h>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace sbpipe {

// A child that was started: its pid (the id of its process group when it
// has one of its own) and when it started, in clock ticks after boot
// (/proc/PID/stat field 22; 0 when unknown). The pair names the process
// across pid reuse: a later process with the same pid starts later.
struct StartedChild {
  pid_t pid = 0;
  uint64_t start_time = 0;
};

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
  // Called once the child exists, before the wait, from the waiting thread.
  std::function<void(const StartedChild&)> on_start;
  // Each line of the child's output (stdout and stderr together), without
  // its '\n', as it comes, from the waiting thread; with it, `output` still
  // receives every byte. The relay ends when the child has exited and its
  // output is read, even if a process it started keeps the pipe open.
  std::function<void(std::string_view line)> on_output_line;
};

// Starts the child and waits. Returns its exit status, or 128+N when signal
// N ended it. io error when it could not be started. `pid_out`, when given,
// holds the child's pid while it runs (0 otherwise), for a stopper thread.
Result<int> run_child(const ChildSpec& spec, std::atomic<pid_t>* pid_out = nullptr);

// When process `pid` started (StartedChild::start_time); nullopt when no
// such process exists (or /proc cannot tell).
std::optional<uint64_t> process_start_time(pid_t pid);

// Sends `signal` to the process group `child.pid` leads, when that process
// is still the one that started at child.start_time (a pid that ended and
// was reused is left alone; start_time 0 matches any). Returns whether the
// signal was sent. For a child another process started (the local
// executor's runs, stopped by `sbpipe runs cancel`).
bool signal_started_group(const StartedChild& child, int signal);

// The program posix_spawnp would start for `name`: `name` itself when it
// holds a '/' (if it is an executable file), else the first executable
// file named so in a PATH entry (an empty entry is the current directory).
// nullopt when there is none.
std::optional<std::string> find_program(const std::string& name);

// The names sbpipe reads secrets from; children never inherit them.
const std::vector<std::string>& secret_env_names();

}  // namespace sbpipe

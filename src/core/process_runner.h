#pragma once
// Child processes as a seam (ninja's CommandRunner): `sbpipe run` starts
// imager through it and the local executor starts `sbpipe run` through it,
// so their logic is tested with a fake that plays the child (the runner's
// FakeImager in tests/support/fakes_runner.h, the executor's FakeRuns in
// tests/unit/test_local_executor.cpp) and the real one is tested against
// real processes.

#include <sys/types.h>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/subprocess.h"

namespace sbpipe {

class ProcessRunner {
public:
  virtual ~ProcessRunner() = default;
  // Starts a program and waits for it (run_child's contract: the exit
  // status, 128+N for signal N, io error when it could not be started;
  // spec.on_start is called once it exists).
  virtual Result<int> run(const ChildSpec& spec) = 0;
  // The program run(ChildSpec{{name}}) would start: `name` itself when it
  // holds a '/', else the first executable PATH entry; nullopt when none.
  virtual std::optional<std::string> find_program(const std::string& name) = 0;
  // Sends `signal` to the process group of the child `pid` that a run() of
  // this runner started with new_process_group and is still waiting for
  // (to the child alone when it has no group of its own). Returns false,
  // and sends nothing, when no such child is running: a pid that ended is
  // never signalled, whoever has it now. Thread-safe.
  virtual bool signal_group(pid_t pid, int signal) = 0;
};

// The real children (core/subprocess.h's run_child). Thread-safe; each
// instance knows only the children it started.
class ChildProcesses final : public ProcessRunner {
public:
  Result<int> run(const ChildSpec& spec) override;
  std::optional<std::string> find_program(const std::string& name) override;
  bool signal_group(pid_t pid, int signal) override;
  // Sends `signal` to every child run() is waiting for now (each one's
  // group when it has one); their pids. For an interrupted `sbpipe run`.
  std::vector<pid_t> signal_all(int signal);
  // The child that ended last, when it ended from `signal` (killed by it, or
  // exit status 128 + signal, as a shell ends on it) at most `within` ago:
  // a signal sent to the whole process group (a terminal's Ctrl-C) can end
  // the child before signal_all looks.
  std::optional<pid_t> ended_from(int signal, std::chrono::milliseconds within);

private:
  struct Running;
  std::shared_ptr<Running> m_running = make_running();
  static std::shared_ptr<Running> make_running();
};

// One process-wide instance, for `sbpipe run` (real_children() is the same
// one, for signal_all).
ProcessRunner& real_process_runner();
ChildProcesses& real_children();

}  // namespace sbpipe

#include "core/process_runner.h"

#include <signal.h>

#include <map>
#include <mutex>

namespace sbpipe {

// The children being waited for, by pid: whether each leads a group, and
// its start time. run_child reaps the child before run() can remove its
// entry, so in between the pid may already belong to another process; the
// start time tells them apart (a reaped pid has no /proc entry, a reused
// one started later).
struct ChildProcesses::Running {
  std::mutex mutex;
  std::map<pid_t, std::pair<bool, uint64_t>> children;  // pid → (own group, start time)
  // The child that ended last: its pid, its status (128 + signal when a signal ended it), when.
  pid_t last_pid = 0;
  int last_status = 0;
  std::chrono::steady_clock::time_point last_end;
};

std::shared_ptr<ChildProcesses::Running> ChildProcesses::make_running() { return std::make_shared<Running>(); }

Result<int> ChildProcesses::run(const ChildSpec& spec) {
  ChildSpec tracked = spec;
  pid_t started = 0;
  tracked.on_start = [&, running = m_running](const StartedChild& child) {
    {
      std::lock_guard lock(running->mutex);
      running->children[child.pid] = {spec.new_process_group, child.start_time};
    }
    started = child.pid;
    if (spec.on_start) spec.on_start(child);
  };
  auto status = run_child(tracked);
  if (started > 0) {
    std::lock_guard lock(m_running->mutex);
    m_running->children.erase(started);
    m_running->last_pid = started;
    m_running->last_status = status ? *status : -1;
    m_running->last_end = std::chrono::steady_clock::now();
  }
  return status;
}

std::optional<pid_t> ChildProcesses::ended_from(int signal, std::chrono::milliseconds within) {
  std::lock_guard lock(m_running->mutex);
  if (m_running->last_pid == 0 || m_running->last_status != 128 + signal) return std::nullopt;
  if (std::chrono::steady_clock::now() - m_running->last_end > within) return std::nullopt;
  return m_running->last_pid;
}

std::optional<std::string> ChildProcesses::find_program(const std::string& name) { return sbpipe::find_program(name); }

bool ChildProcesses::signal_group(pid_t pid, int signal) {
  std::lock_guard lock(m_running->mutex);
  auto it = m_running->children.find(pid);
  if (it == m_running->children.end()) return false;
  const auto& [own_group, start_time] = it->second;
  if (start_time != 0 && process_start_time(pid) != start_time) return false;  // reaped; the pid may be another's
  return ::kill(own_group ? -pid : pid, signal) == 0;
}

std::vector<pid_t> ChildProcesses::signal_all(int signal) {
  std::lock_guard lock(m_running->mutex);
  std::vector<pid_t> out;
  for (const auto& [pid, facts] : m_running->children) {
    const auto& [own_group, start_time] = facts;
    if (start_time != 0 && process_start_time(pid) != start_time) continue;
    if (::kill(own_group ? -pid : pid, signal) == 0) out.push_back(pid);
  }
  return out;
}

ChildProcesses& real_children() {
  static ChildProcesses runner;
  return runner;
}

ProcessRunner& real_process_runner() { return real_children(); }

}  // namespace sbpipe

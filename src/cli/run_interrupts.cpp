#include "cli/run_interrupts.h"

#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <chrono>

#include "core/process_runner.h"

namespace sbpipe {
namespace {

sigset_t run_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR2);  // the destructor's wake-up
  return set;
}

}  // namespace

std::string signal_name(int signal) {
  return signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : "signal " + std::to_string(signal);
}

RunInterrupts::RunInterrupts(std::string resume_hint) : m_resume_hint(std::move(resume_hint)) {
  sigset_t set = run_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before any thread of the run exists: they inherit it
  m_thread = std::thread([this] { wait(); });
}

RunInterrupts::~RunInterrupts() {
  m_done = true;
  pthread_kill(m_thread.native_handle(), SIGUSR2);
  m_thread.join();
  sigset_t set = run_signals();
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

std::vector<pid_t> RunInterrupts::stopped() const {
  if (m_signal.load() == 0) return {};
  std::unique_lock lock(m_mutex);
  m_sent.wait(lock, [this] { return m_handled; });
  return m_stopped;
}

int RunInterrupts::settle() const {
  using std::chrono_literals::operator""s;
  if (int signal = m_signal.load()) return signal;
  sigset_t pending;
  sigpending(&pending);
  bool arrived = sigismember(&pending, SIGINT) == 1 || sigismember(&pending, SIGTERM) == 1;
  bool child_ended_from_one = real_children().ended_from(SIGINT, 2s) || real_children().ended_from(SIGTERM, 2s);
  if (!arrived && !child_ended_from_one) return 0;
  std::unique_lock lock(m_mutex);
  m_sent.wait_for(lock, 1s, [this] { return m_handled; });
  return m_signal.load();
}

void RunInterrupts::wait() {
  sigset_t set = run_signals();
  for (;;) {
    int received = 0;
    if (sigwait(&set, &received) != 0) continue;
    if (received == SIGUSR2) {
      if (m_done) return;
      continue;
    }
    if (m_signal.load() != 0) {  // the second: at once
      spdlog::error("{} again: stopping now; {}", signal_name(received), m_resume_hint);
      spdlog::default_logger()->flush();
      ::_exit(128 + received);
    }
    m_signal = received;  // first: the run must read a child's end as the signal's doing
    auto stopped = real_children().signal_all(SIGTERM);
    // Sent to the whole group, the signal may have ended imager already: it was running, and the
    // pipeline is ending its step (settle()).
    if (stopped.empty())
      if (auto ended = real_children().ended_from(received, std::chrono::seconds(2))) stopped.push_back(*ended);
    {
      std::lock_guard lock(m_mutex);
      m_stopped = stopped;
      m_handled = true;
    }
    m_sent.notify_all();
    if (stopped.empty()) {
      spdlog::error(
          "interrupted ({}): no child was running (an upload or push in flight is cut short; each is safe to "
          "repeat); {}",
          signal_name(received), m_resume_hint);
      spdlog::default_logger()->flush();
      ::_exit(128 + received);
    }
    spdlog::warn("{}: stopping imager (pid {}); {} again stops at once", signal_name(received), stopped.front(),
                 signal_name(received));
  }
}

}  // namespace sbpipe

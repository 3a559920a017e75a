#pragma once
// `sbpipe run` on Ctrl-C (SIGINT) or SIGTERM, as docker run proxies a
// signal to its container and goreleaser says "release failed ... context
// canceled": a thread of its own takes the signal (blocked in every other
// thread), forwards SIGTERM to the child running now (imager, through
// core/process_runner.h real_children(): a container engine stops its
// container), and lets the pipeline end the step, so the run says what was
// stopped and how to resume. With no child running (an upload or push in
// flight, each idempotent) it says so and ends the process at once; a
// second signal ends it at once too. The exit status is 128 + the signal,
// as a shell reports it.

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sbpipe {

class RunInterrupts {
public:
  // `resume_hint` is said when the process ends from the signal thread
  // ("the journal ... keeps every finished step: run the same command
  // again to resume").
  explicit RunInterrupts(std::string resume_hint);
  ~RunInterrupts();
  RunInterrupts(const RunInterrupts&) = delete;
  RunInterrupts& operator=(const RunInterrupts&) = delete;

  // The signal received (0: none), and the children it stopped. The
  // signal is recorded before any child is signalled, so a child that ends
  // from it is never taken for a failed step; stopped() waits until the
  // signal thread has sent it.
  int received() const { return m_signal.load(); }
  std::vector<pid_t> stopped() const;
  // received(), once a signal that may have ended the last child is taken:
  // a terminal's Ctrl-C reaches the whole process group, so imager can end
  // from it before the signal thread has taken this process's copy (then
  // pending, or being taken). Called when the pipeline has returned.
  int settle() const;

private:
  void wait();
  std::string m_resume_hint;
  std::atomic<int> m_signal{0};
  mutable std::atomic<bool> m_done{false};
  mutable std::mutex m_mutex;
  mutable std::condition_variable m_sent;
  bool m_handled = false;        // guarded by m_mutex
  std::vector<pid_t> m_stopped;  // guarded by m_mutex
  std::thread m_thread;
};

// "SIGINT", "SIGTERM".
std::string signal_name(int signal);

}  // namespace sbpipe

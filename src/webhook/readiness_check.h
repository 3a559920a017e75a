#pragma once
// What GET /readyz answers, kept off the request path (issue 30: each probe
// used to wait on the blocking pool for its own SelfSubjectAccessReview, so
// unauthenticated probes held connection slots and threads that deliveries
// and /healthz needed).
//
// A thread of its own runs `check` (the Submitter's ready(): the Kubernetes
// API for Argo, the queue directory for the local executor) at start(), then
// every `interval`, and sooner when a probe finds the last result older than
// `fresh` (at most one check runs at a time, so probes never multiply API
// calls). Probes read the last result and never wait.
// What a probe may show is coarse: ready, not ready, or not checked yet. The
// reason (which may name files, the API address or a namespace) goes only to
// the log: a warning when the state or its reason changes, an info line when
// it becomes ready again.
// Thread-safe; stop() (or the destructor) waits for a check in progress.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "core/error.h"

namespace sbpipe {

enum class Readiness { unknown, ready, not_ready };

struct ReadinessOptions {
  std::chrono::milliseconds interval{10000};
  std::chrono::milliseconds fresh{1000};
};

class ReadinessCheck {
public:
  ReadinessCheck(std::function<Status()> check, ReadinessOptions options = {});
  ~ReadinessCheck();
  ReadinessCheck(const ReadinessCheck&) = delete;
  ReadinessCheck& operator=(const ReadinessCheck&) = delete;

  void start();
  void stop();
  // The last result (unknown before the first check ended); asks for a
  // fresh check when it is older than options.fresh. Never blocks on a check.
  Readiness current();

private:
  void run();

  std::function<Status()> m_check;
  ReadinessOptions m_options;
  std::mutex m_mutex;
  std::condition_variable m_wake;
  Readiness m_state = Readiness::unknown;
  std::string m_reason;  // the last failure, for the log
  std::chrono::steady_clock::time_point m_checked{};
  bool m_wanted = false;
  bool m_stopping = false;
  std::thread m_thread;
};

}  // namespace sbpipe

#pragma once
// The local executor of `sbpipe serve --executor local`: an accepted
// pre-release becomes a `sbpipe run` on this machine instead of an Argo
// Workflow. The queue is a directory (STATE/queue/<name>.json, one file per
// release, named as the Workflow would be): a delivery is written there,
// flushed, before it is answered 201, so a restart loses nothing; a second
// delivery of the same release finds its file and is answered "already
// submitted". One worker thread runs the entries one at a time, oldest
// first, each as a child `sbpipe run --wait` (its own process group, its
// log in STATE/logs/<name>.log), so one version never runs twice at once
// and a crashing run cannot take the receiver with it. An entry found
// "running" at start-up was cut short by a stop or crash and runs again
// (run resumes from its journal). A failed entry is run again when its
// release is delivered again (GitHub's "Redeliver").
//
// A withdrawal (the release was unpublished or deleted) takes a queued entry
// off the queue, and stops a running one (SIGTERM to its process group)
// before it publishes more; either way the entry ends "withdrawn" with the
// reason, which the run's log also says, and a restart does not run it
// again. A later start delivery (published again) queues it anew. The child
// `sbpipe run` gets --release-id and --release-state from the delivery, so
// a run that gets past the stop still refuses to publish a release that
// changed.

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "webhook/server.h"

namespace sbpipe {

struct LocalExecutorConfig {
  std::filesystem::path state_dir;
  // The run command without the release: {sbpipe, "run", "--config", F, ...};
  // the executor appends --tag TAG --repo OWNER/NAME --wait, and
  // --release-id ID --release-state S when the delivery named them.
  std::vector<std::string> run_command;
};

class LocalExecutor final : public Submitter {
public:
  // Creates STATE/queue and STATE/logs (0700) and re-queues entries a stop
  // or crash left "running". io/invalid_input errors name the file.
  static Result<std::unique_ptr<LocalExecutor>> open(LocalExecutorConfig config);
  ~LocalExecutor() override;

  Result<Submission> submit(const ReleaseRef& release, const WorkflowOrigin& origin) override;
  Result<Withdrawal> withdraw(const ReleaseRef& release, const WorkflowOrigin& origin) override;
  Status ready() override;  // the queue directory is writable

  void start();  // starts the worker
  // Stops the worker: a run in progress gets SIGTERM (its process group)
  // and stays queued for the next start.
  void stop();

  // Every entry, oldest first (for logs and tests).
  std::vector<nlohmann::json> entries() const;

  // Prometheus text for /metrics: sbpipe_local_queue_depth (entries waiting
  // to run), sbpipe_local_runs_running, sbpipe_local_runs_total{outcome}
  // (succeeded, failed, withdrawn: runs ended since this process started)
  // and sbpipe_last_successful_release_timestamp_seconds (the newest
  // finished_at of a done entry, so it survives a restart; no sample
  // before the first success). Thread-safe.
  std::string metrics_text() const;

private:
  explicit LocalExecutor(LocalExecutorConfig config) : m_config(std::move(config)) {}
  std::filesystem::path entry_path(const std::string& name) const;
  Status write_entry(const nlohmann::json& entry) const;
  void work();
  // Counts an ended entry for metrics_text(). REQUIRES: m_mutex held.
  void note_outcome(const nlohmann::json& entry);

  LocalExecutorConfig m_config;
  mutable std::mutex m_mutex;
  std::condition_variable m_wake;
  std::vector<nlohmann::json> m_entries;  // guarded by m_mutex
  int64_t m_next_seq = 1;
  bool m_stopping = false;
  std::string m_running;  // the entry whose run is in progress; guarded by m_mutex
  std::atomic<pid_t> m_child{0};
  std::map<std::string, uint64_t> m_outcomes;  // guarded by m_mutex
  int64_t m_last_success = 0;                  // Unix seconds; guarded by m_mutex
  std::thread m_worker;
};

}  // namespace sbpipe

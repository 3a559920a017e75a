#pragma once
// The local executor of `sbpipe serve --executor local`, the second
// Submitter beside the Argo one: an accepted pre-release becomes a `sbpipe
// run` on this machine instead of an Argo Workflow. The queue is a
// directory of typed entries (webhook/run_queue.h, webhook/queue_entry.h):
// a delivery is written there, flushed, before it is answered 201, so a
// restart loses nothing; a second delivery of the same release finds its
// entry and is answered "already submitted". One worker thread runs the
// entries one at a time, oldest first, each as a child `sbpipe run --wait`
// (its own process group, its log in STATE/logs/<name>.log), so one version
// never runs twice at once and a crashing run cannot take the receiver with
// it. An entry found "running" at start-up was cut short by a stop or crash
// and runs again (run resumes from its journal). A failed entry is run
// again when its release is delivered again (GitHub's "Redeliver") or by
// `sbpipe runs retry`.
//
// A withdrawal (the release was unpublished or deleted) takes a queued entry
// off the queue, and stops a running one (SIGTERM to its process group)
// before it publishes more; either way the entry ends "withdrawn" with the
// reason, which the run's log also says, and a restart does not run it
// again. A later start delivery (published again) queues it anew. The child
// `sbpipe run` gets --release-id and --release-state from the delivery, so
// a run that gets past the stop still refuses to publish a release that
// changed. `sbpipe runs cancel` (another process) marks the entry the same
// way and stops the run's process group itself; the worker then ends the
// entry "cancelled".
//
// The files are the truth, shared with `sbpipe runs`: every change takes
// the queue's lock and re-reads the directory first, and the worker looks
// again every `poll` for entries another process queued. An entry that
// cannot be read (edited by hand, cut short, from another version) is
// named in one warning, moved to STATE/queue/damaged/, and the service
// goes on with the others; no entry can stop the worker.

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/file_lock.h"
#include "core/process_runner.h"
#include "webhook/decision.h"
#include "webhook/notifier.h"
#include "webhook/run_queue.h"

namespace sbpipe {

struct LocalExecutorConfig {
  std::filesystem::path state_dir;
  // The run command without the release: {sbpipe, "run", "--config", F, ...};
  // the executor appends --tag TAG --repo OWNER/NAME --wait, and
  // --release-id ID --release-state S when the delivery named them.
  std::vector<std::string> run_command;
  // How often the idle worker looks at the directory for entries another
  // process queued (`sbpipe runs retry`).
  std::chrono::milliseconds poll{1000};
  // Told how each run ended (webhook/notifier.h); none when null.
  std::shared_ptr<Notifier> notifier;
};

class LocalExecutor final : public Submitter {
public:
  // Opens (creating, 0700) STATE/queue and STATE/logs, claims the queue for
  // this process (conflict when another serve works it), moves damaged
  // entries aside, and re-queues entries a stop or crash left "running".
  // `processes` starts the runs and `clock` dates the entries; both outlive
  // the executor.
  static Result<std::unique_ptr<LocalExecutor>> open(LocalExecutorConfig config, ProcessRunner& processes, Clock& clock);
  ~LocalExecutor() override;

  Result<Submission> submit(const ReleaseRef& release, const WorkflowOrigin& origin) override;
  Result<Withdrawal> withdraw(const ReleaseRef& release, const WorkflowOrigin& origin) override;
  // The queue directory is writable, and the dependency check (below)
  // passed when last made.
  Status ready() override;

  // What runs need beyond the queue (keys, token, engine, disk space:
  // pipeline/preflight.h service_checks, given by cli/serve.cpp), for
  // ready(). `first` is its answer at start. ready() makes the check again
  // when its answer is older than `max_age`, one call at a time; meanwhile,
  // and while it runs, the last answer stands, so readiness never waits for
  // it.
  void set_dependency_check(std::function<Status()> check, Status first, std::chrono::milliseconds max_age);

  void start();  // starts the worker
  // Stops the worker: a run in progress gets SIGTERM (its process group)
  // and stays queued for the next start.
  void stop();

  // Every entry, oldest first, as last read. Thread-safe.
  std::vector<QueueEntry> entries() const;

  // Prometheus text for /metrics: sbpipe_local_queue_depth (entries waiting
  // to run), sbpipe_local_runs_running, sbpipe_local_runs_total{outcome}
  // (succeeded, failed, withdrawn, cancelled: runs ended since this process
  // started), sbpipe_local_damaged_entries_total (entries moved aside since
  // it started) and sbpipe_last_successful_release_timestamp_seconds (the
  // newest finished_at of a done entry, so it survives a restart; no
  // sample before the first success), and sbpipe_local_ready (1 when the
  // dependency check last passed, as /readyz answers). Thread-safe.
  std::string metrics_text() const;

  // For tests: waits until `done` holds for the entries (checked after each
  // change the executor makes), at most `timeout`; whether it held.
  bool TEST_wait_until(const std::function<bool(const std::vector<QueueEntry>&)>& done, std::chrono::milliseconds timeout);

private:
  LocalExecutor(LocalExecutorConfig config, RunQueue queue, FileLock claim, ProcessRunner& processes, Clock& clock);
  // Re-reads the directory into m_entries (damaged entries moved aside and
  // logged). REQUIRES: m_mutex and the queue lock held.
  Status refresh();
  // The queue's lock, with the entries read again under it; nullopt (and
  // a log line) when either failed. REQUIRES: m_mutex held.
  std::optional<FileLock> locked_fresh();
  QueueEntry* find(const std::string& name);
  // Writes an entry and publishes it to m_entries; logs a failure.
  // REQUIRES: m_mutex and the queue lock held.
  Status store(const QueueEntry& entry);
  UtcSeconds now() const;
  void work();
  // The next queued entry, marked running on disk; nullopt when none.
  // REQUIRES: m_mutex held.
  std::optional<QueueEntry> take_next();
  std::vector<std::string> run_argv(const QueueEntry& entry) const;
  void on_started(const std::string& name, const StartedChild& child);
  // Records how the run ended; the entry to notify about, when it ended
  // (not when serve is stopping). REQUIRES: m_mutex held.
  std::optional<QueueEntry> finish(const std::string& name, const Result<int>& exit);
  // Counts an ended entry for metrics_text(). REQUIRES: m_mutex held.
  void note_outcome(const QueueEntry& entry);

  LocalExecutorConfig m_config;
  RunQueue m_queue;
  FileLock m_claim;
  ProcessRunner& m_processes;
  Clock& m_clock;
  mutable std::mutex m_mutex;
  std::condition_variable m_wake;              // the worker: work to do, or stop
  std::condition_variable m_changed;           // TEST_wait_until: an entry changed
  std::vector<QueueEntry> m_entries;           // guarded by m_mutex
  int64_t m_next_seq = 1;                      // guarded by m_mutex
  bool m_stopping = false;                     // guarded by m_mutex
  std::string m_running;                       // the entry whose run is in progress; guarded by m_mutex
  std::optional<StartedChild> m_child;         // its child once started; guarded by m_mutex
  std::map<std::string, uint64_t> m_outcomes;  // guarded by m_mutex
  uint64_t m_damaged = 0;                      // guarded by m_mutex
  int64_t m_last_success = 0;                  // Unix seconds; guarded by m_mutex
  // The queue directory's time at the last read, and when that read was.
  std::optional<std::pair<std::filesystem::file_time_type, std::filesystem::file_time_type>> m_loaded;
  std::thread m_worker;
  // The dependency check and its last answer (with when it was made).
  std::function<Status()> m_dependencies;
  std::chrono::milliseconds m_dependencies_max_age{0};
  std::mutex m_checking;  // held while a check runs
  mutable std::mutex m_answer_mutex;
  Status m_answer;
  std::chrono::steady_clock::time_point m_answered{};
};

}  // namespace sbpipe

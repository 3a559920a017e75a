#include "webhook/local_executor.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "core/log.h"

namespace sbpipe {
namespace fs = std::filesystem;

namespace {

bool same_release(const QueueEntry& entry, const ReleaseRef& release) {
  auto lower = [](std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
  };
  return entry.release_id == release.release_id && lower(entry.repo) == lower(release.repo);
}

// "the release was unpublished (delivery d-4)" / "it was cancelled (sbpipe runs cancel)"
std::string stop_text(const QueueEntry& entry) {
  if (entry.cancelled) return "it was cancelled (sbpipe runs cancel)";
  if (!entry.withdrawn) return "it was stopped";
  return "the release was " + entry.withdrawn->action + " (delivery " +
         (entry.withdrawn->delivery.empty() ? std::string("-") : entry.withdrawn->delivery) + ")";
}

int64_t unix_seconds(const std::optional<UtcSeconds>& at) { return at ? at->time_since_epoch().count() : 0; }

// One line of a run's output, logged again by serve (to journald under the
// unit) with the run's name: a JSON record (the run's --log-format json)
// keeps its level and fields; a text log line ("sbpipe: warning: ...")
// its level; anything else (a table row) is info.
void relay_run_line(const std::string& name, std::string_view line) {
  if (line.empty()) return;
  LogLevel level = LogLevel::info;
  std::string message(line);
  std::vector<LogField> fields;
  auto record = nlohmann::json::parse(line, nullptr, false);
  if (record.is_object() && record.contains("msg") && record["msg"].is_string()) {
    std::string word = record.value("level", "info");
    level = word == "error" || word == "critical" ? LogLevel::error
            : word == "warning"                   ? LogLevel::warn
            : word == "debug" || word == "trace"  ? LogLevel::debug
                                                  : LogLevel::info;
    message = record["msg"].get<std::string>();
    for (const auto& [key, value] : record.items())
      if (key != "msg" && key != "level" && key != "time" && key != "run") fields.push_back({key, value});
  } else if (message.starts_with("sbpipe: ")) {
    message.erase(0, 8);
    for (auto [prefix, mapped] : {std::pair{"error: ", LogLevel::error}, std::pair{"critical: ", LogLevel::error},
                                  std::pair{"warning: ", LogLevel::warn}, std::pair{"debug: ", LogLevel::debug}})
      if (message.starts_with(prefix)) {
        level = mapped;
        message.erase(0, std::string_view(prefix).size());
      }
  }
  fields.push_back({"run", name});
  log_event(level, "run " + name + ": " + message, fields);
}

}  // namespace

LocalExecutor::LocalExecutor(LocalExecutorConfig config, RunQueue queue, FileLock claim, ProcessRunner& processes, Clock& clock)
    : m_config(std::move(config)), m_queue(std::move(queue)), m_claim(std::move(claim)), m_processes(processes), m_clock(clock) {}

Result<std::unique_ptr<LocalExecutor>> LocalExecutor::open(LocalExecutorConfig config, ProcessRunner& processes, Clock& clock) {
  if (config.run_command.empty()) return fail(ErrorKind::usage, "local executor: no run command");
  auto queue = RunQueue::open(config.state_dir, RunQueue::Create::yes);
  if (!queue) return fail(queue.error());
  auto claim = queue->claim_for_serve();
  if (!claim) return fail(claim.error());
  std::unique_ptr<LocalExecutor> executor(
      new LocalExecutor(std::move(config), std::move(*queue), std::move(*claim), processes, clock));
  std::lock_guard guard(executor->m_mutex);
  auto lock = executor->m_queue.lock();
  if (!lock) return fail(lock.error());
  if (auto st = executor->refresh(); !st) return fail(st.error());
  for (auto entry : executor->m_entries) {
    if (entry.state != EntryState::running) continue;
    if (entry.withdrawn || entry.cancelled) {
      entry.state = entry.cancelled ? EntryState::cancelled : EntryState::withdrawn;
      spdlog::info("queue: {} was being stopped ({}); it stays {}", entry.name, stop_text(entry), entry_state_name(entry.state));
    } else {
      entry.state = EntryState::queued;
      spdlog::info("queue: {} was cut short by a stop or crash; it runs again", entry.name);
    }
    entry.child.reset();
    if (auto st = executor->store(entry); !st) return fail(st.error());
  }
  return executor;
}

LocalExecutor::~LocalExecutor() { stop(); }

UtcSeconds LocalExecutor::now() const { return std::chrono::floor<std::chrono::seconds>(m_clock.wall_now()); }

Status LocalExecutor::refresh() {
  // Every write replaces a whole file by a rename, which changes the
  // directory's time: an unchanged time means nothing to read again, once
  // that time is older than the clock's tick (a change within the same
  // tick would not move it).
  std::error_code ec;
  auto changed = fs::last_write_time(m_queue.queue_dir(), ec);
  if (!ec && m_loaded && changed == m_loaded->first && m_loaded->second - changed > std::chrono::seconds(2)) return {};
  if (!ec) m_loaded = {changed, fs::file_time_type::clock::now()};
  auto contents = m_queue.load(OnDamage::move_aside);
  if (!contents) return fail(contents.error());
  for (const auto& damaged : contents->damaged) {
    ++m_damaged;
    if (damaged.moved_to.empty())
      spdlog::warn("queue: {}; it could not be moved aside and is skipped (the service goes on)", damaged.reason);
    else
      spdlog::warn("queue: {}; moved to {} (kept for you; the service goes on)", damaged.reason, damaged.moved_to.string());
  }
  m_entries = std::move(contents->entries);
  for (const auto& e : m_entries) {
    m_next_seq = std::max(m_next_seq, e.seq + 1);
    if (e.state == EntryState::done) m_last_success = std::max(m_last_success, unix_seconds(e.finished_at));
  }
  m_changed.notify_all();
  return {};
}

QueueEntry* LocalExecutor::find(const std::string& name) {
  auto it = std::find_if(m_entries.begin(), m_entries.end(), [&](const QueueEntry& e) { return e.name == name; });
  return it == m_entries.end() ? nullptr : &*it;
}

Status LocalExecutor::store(const QueueEntry& entry) {
  if (auto st = m_queue.write(entry); !st) {
    spdlog::error("queue: {}", st.error().message());
    return st;
  }
  if (QueueEntry* cached = find(entry.name))
    *cached = entry;
  else
    m_entries.push_back(entry);
  m_changed.notify_all();
  return {};
}

Result<Submission> LocalExecutor::submit(const ReleaseRef& release, const WorkflowOrigin& origin) {
  std::string name = workflow_name(release);
  std::lock_guard guard(m_mutex);
  auto lock = m_queue.lock();
  if (!lock) return fail(lock.error().with_context("queue"));
  if (auto st = refresh(); !st) return fail(st.error().with_context("queue"));
  QueueEntry entry;
  if (const QueueEntry* existing = find(name)) {
    if (!entry_may_run_again(existing->state)) return Submission{false, name};
    entry = *existing;
  } else {
    entry =
        QueueEntry{.name = name, .repo = release.repo, .tag = release.tag, .release_id = release.release_id, .seq = m_next_seq};
  }
  entry.state = EntryState::queued;
  entry.withdrawn.reset();
  entry.cancelled.reset();
  if (!release.state.empty()) entry.release_state = release.state;
  entry.delivery = origin.delivery_id;
  entry.action = origin.action;
  entry.accepted_at = now();
  // On disk (flushed) before the caller answers 201.
  if (auto st = store(entry); !st) return fail(st.error().with_context("queue"));
  m_next_seq = std::max(m_next_seq, entry.seq + 1);
  m_wake.notify_one();
  return Submission{true, name};
}

Result<Withdrawal> LocalExecutor::withdraw(const ReleaseRef& release, const WorkflowOrigin& origin) {
  std::lock_guard guard(m_mutex);
  auto lock = m_queue.lock();
  if (!lock) return fail(lock.error().with_context("queue"));
  if (auto st = refresh(); !st) return fail(st.error().with_context("queue"));
  Withdrawal out;
  for (QueueEntry entry : m_entries) {
    if (!same_release(entry, release) || (entry.state != EntryState::queued && entry.state != EntryState::running)) continue;
    entry.withdrawn = StopRecord{origin.action, origin.delivery_id, now()};
    if (entry.state == EntryState::queued) entry.state = EntryState::withdrawn;
    // On disk before the answer, so that a crash cannot run it again.
    if (auto st = store(entry); !st) return fail(st.error().with_context("queue"));
    if (entry.state == EntryState::running && m_running == entry.name) {
      if (m_child) m_processes.signal_group(m_child->pid, SIGTERM);
      spdlog::info("queue: {}: {}; stopping the run before it publishes more", entry.name, stop_text(entry));
    } else {
      spdlog::info("queue: {}: {}; taken off the queue", entry.name, stop_text(entry));
    }
    out.stopped.push_back(entry.name);
  }
  return out;
}

Status LocalExecutor::ready() {
  auto dir = m_queue.queue_dir();
  if (::access(dir.c_str(), W_OK | X_OK) != 0) return fail(ErrorKind::io, dir.string() + ": not writable");
  if (!m_dependencies) return {};
  bool stale;
  {
    std::lock_guard lock(m_answer_mutex);
    stale = m_clock.now() - m_answered >= m_dependencies_max_age;
  }
  if (std::unique_lock checking(m_checking, std::try_to_lock); stale && checking.owns_lock()) {
    Status answer = m_dependencies();
    std::lock_guard lock(m_answer_mutex);
    if (answer && !m_answer) spdlog::info("ready again: what runs need is there");
    if (!answer && (m_answer || answer.error().message() != m_answer.error().message()))
      spdlog::warn("not ready: {}", answer.error().message());
    m_answer = std::move(answer);
    m_answered = m_clock.now();
  }
  std::lock_guard lock(m_answer_mutex);
  return m_answer;
}

void LocalExecutor::set_dependency_check(std::function<Status()> check, Status first, std::chrono::milliseconds max_age) {
  std::lock_guard lock(m_answer_mutex);
  m_dependencies = std::move(check);
  m_answer = std::move(first);
  m_answered = m_clock.now();
  m_dependencies_max_age = max_age;
}

void LocalExecutor::start() {
  std::lock_guard lock(m_mutex);
  if (m_worker.joinable()) return;
  m_stopping = false;
  m_worker = std::thread([this] { work(); });
}

void LocalExecutor::stop() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
    if (m_child) m_processes.signal_group(m_child->pid, SIGTERM);
  }
  m_wake.notify_all();
  if (m_worker.joinable()) m_worker.join();
}

std::vector<QueueEntry> LocalExecutor::entries() const {
  std::lock_guard lock(m_mutex);
  return m_entries;
}

bool LocalExecutor::TEST_wait_until(const std::function<bool(const std::vector<QueueEntry>&)>& done,
                                    std::chrono::milliseconds timeout) {
  std::unique_lock lock(m_mutex);
  return m_changed.wait_for(lock, timeout, [&] { return done(m_entries); });
}

std::string LocalExecutor::metrics_text() const {
  std::lock_guard lock(m_mutex);
  auto count = [this](EntryState state) {
    return std::count_if(m_entries.begin(), m_entries.end(), [state](const QueueEntry& e) { return e.state == state; });
  };
  std::string out =
      "# HELP sbpipe_local_queue_depth Releases accepted and waiting to run (local executor).\n"
      "# TYPE sbpipe_local_queue_depth gauge\n"
      "sbpipe_local_queue_depth " +
      std::to_string(count(EntryState::queued)) +
      "\n"
      "# HELP sbpipe_local_runs_running Runs in progress now (local executor; at most 1).\n"
      "# TYPE sbpipe_local_runs_running gauge\n"
      "sbpipe_local_runs_running " +
      std::to_string(count(EntryState::running)) +
      "\n"
      "# HELP sbpipe_local_runs_total Runs ended since the receiver started, by outcome.\n"
      "# TYPE sbpipe_local_runs_total counter\n";
  for (const char* outcome : {"succeeded", "failed", "withdrawn", "cancelled"}) {
    auto it = m_outcomes.find(outcome);
    out += "sbpipe_local_runs_total{outcome=\"" + std::string(outcome) + "\"} " +
           std::to_string(it == m_outcomes.end() ? 0 : it->second) + "\n";
  }
  out +=
      "# HELP sbpipe_local_damaged_entries_total Queue entries found damaged and moved aside since the receiver started.\n"
      "# TYPE sbpipe_local_damaged_entries_total counter\n"
      "sbpipe_local_damaged_entries_total " +
      std::to_string(m_damaged) +
      "\n"
      "# HELP sbpipe_last_successful_release_timestamp_seconds When the last run that succeeded ended (Unix time).\n"
      "# TYPE sbpipe_last_successful_release_timestamp_seconds gauge\n";
  if (m_last_success > 0) out += "sbpipe_last_successful_release_timestamp_seconds " + std::to_string(m_last_success) + "\n";
  bool ready;
  {
    std::lock_guard answer(m_answer_mutex);
    ready = m_answer.has_value();
  }
  out +=
      "# HELP sbpipe_local_ready Whether what runs need was there at the last check (what /readyz answers).\n"
      "# TYPE sbpipe_local_ready gauge\n"
      "sbpipe_local_ready " +
      std::string(ready ? "1" : "0") + "\n";
  return out;
}

void LocalExecutor::note_outcome(const QueueEntry& entry) {
  ++m_outcomes[entry.state == EntryState::done ? "succeeded" : std::string(entry_state_name(entry.state))];
  if (entry.state == EntryState::done) m_last_success = std::max(m_last_success, unix_seconds(entry.finished_at));
}

std::optional<FileLock> LocalExecutor::locked_fresh() {
  auto lock = m_queue.lock();
  if (!lock) {
    spdlog::error("queue: {}", lock.error().message());
    return std::nullopt;
  }
  if (auto st = refresh(); !st) {
    spdlog::error("queue: {}", st.error().message());
    return std::nullopt;
  }
  return std::move(*lock);
}

std::optional<QueueEntry> LocalExecutor::take_next() {
  auto lock = locked_fresh();
  if (!lock) return std::nullopt;
  auto next = std::find_if(m_entries.begin(), m_entries.end(), [](const QueueEntry& e) { return e.state == EntryState::queued; });
  if (next == m_entries.end()) return std::nullopt;
  QueueEntry entry = *next;
  entry.state = EntryState::running;
  entry.attempts += 1;
  entry.started_at = now();
  entry.finished_at.reset();
  entry.exit_code.reset();
  entry.error.clear();
  entry.child.reset();
  // A failed write is logged; the run goes ahead (a restart would run it
  // again, which resumes from its journal).
  (void)store(entry);
  return entry;
}

std::vector<std::string> LocalExecutor::run_argv(const QueueEntry& entry) const {
  std::vector<std::string> argv = m_config.run_command;
  argv.insert(argv.end(), {"--tag", entry.tag, "--repo", entry.repo, "--wait"});
  if (entry.release_id > 0) argv.insert(argv.end(), {"--release-id", std::to_string(entry.release_id)});
  if (!entry.release_state.empty()) argv.insert(argv.end(), {"--release-state", entry.release_state});
  return argv;
}

void LocalExecutor::work() {
  std::unique_lock guard(m_mutex);
  while (!m_stopping) {
    auto entry = take_next();
    if (!entry) {
      m_wake.wait_for(guard, m_config.poll);
      continue;
    }
    const std::string name = entry->name;
    ChildSpec child;
    child.argv = run_argv(*entry);
    child.output = m_queue.log_path(name);
    child.new_process_group = true;
    child.on_start = [this, name](const StartedChild& started) { on_started(name, started); };
    child.on_output_line = [name](std::string_view line) { relay_run_line(name, line); };
    m_running = name;
    // The log holds every attempt; `sbpipe runs logs` shows where each begins.
    std::ofstream(*child.output, std::ios::app) << "sbpipe serve: attempt " << entry->attempts << " of " << name << " ("
                                                << entry->tag << "), started " << utc_text(*entry->started_at) << "\n";
    guard.unlock();
    spdlog::info("queue: running {} (attempt {}; log {})", name, entry->attempts, child.output->string());
    auto exit = m_processes.run(child);
    guard.lock();
    auto ended = finish(name, exit);
    if (ended && m_config.notifier) {  // outside the lock: a slow receiver must not hold the queue
      guard.unlock();
      m_config.notifier->notify(outcome_from_journal(*ended, m_queue.state_dir()));
      guard.lock();
    }
  }
}

void LocalExecutor::on_started(const std::string& name, const StartedChild& started) {
  std::lock_guard guard(m_mutex);
  m_child = started;
  auto lock = locked_fresh();
  if (!lock) return;
  QueueEntry* entry = find(name);
  if (!entry) return;
  QueueEntry updated = *entry;
  updated.child = started;
  (void)store(updated);
  // Withdrawn or cancelled between the start and now: stop it at once.
  if (updated.withdrawn || updated.cancelled) m_processes.signal_group(started.pid, SIGTERM);
}

std::optional<QueueEntry> LocalExecutor::finish(const std::string& name, const Result<int>& exit) {
  m_running.clear();
  m_child.reset();
  auto lock = locked_fresh();
  if (!lock) return std::nullopt;
  QueueEntry* found = find(name);
  std::string ended = exit ? "exit status " + std::to_string(*exit) : exit.error().message();
  if (!found) {
    spdlog::warn("queue: {}: its entry went away while it ran (it ended with {})", name, ended);
    return std::nullopt;
  }
  QueueEntry entry = *found;
  entry.child.reset();
  const auto log = m_queue.log_path(name);
  if (entry.withdrawn || entry.cancelled) {
    // Stopped for a withdrawal or a cancel (or finished just before it arrived).
    bool finished = exit && *exit == 0;
    entry.state = finished ? EntryState::done : entry.cancelled ? EntryState::cancelled : EntryState::withdrawn;
    entry.finished_at = now();
    if (exit) entry.exit_code = *exit;
    note_outcome(entry);
    if (!finished)
      std::ofstream(log, std::ios::app) << "sbpipe serve: " << stop_text(entry)
                                        << "; the run was stopped before publishing more\n";
    (void)store(entry);
    spdlog::info("queue: {} {}", name,
                 finished ? std::string("done") : std::string(entry_state_name(entry.state)) + ": " + stop_text(entry));
    return entry;
  }
  if (m_stopping) {
    entry.state = EntryState::queued;  // cut short by stop(): runs again on the next start
    (void)store(entry);
    spdlog::info("queue: {} stopped; it runs again on the next start", name);
    return std::nullopt;
  }
  entry.finished_at = now();
  if (!exit) {
    entry.state = EntryState::failed;
    entry.error = exit.error().message();
  } else {
    entry.state = *exit == 0 ? EntryState::done : EntryState::failed;
    entry.exit_code = *exit;
  }
  note_outcome(entry);
  (void)store(entry);
  if (entry.state == EntryState::done)
    spdlog::info("queue: {} done", name);
  else
    spdlog::error("queue: {} failed ({}; see {}); a redelivery or 'sbpipe runs retry {}' runs it again", name, ended,
                  log.string(), name);
  return entry;
}

}  // namespace sbpipe

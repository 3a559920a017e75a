#include "pipeline/local_executor.h"

#include <spdlog/spdlog.h>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>

#include "core/file.h"
#include "core/subprocess.h"

namespace sbpipe {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string utc_now() {
  auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Seconds since the epoch of utc_now()'s format; 0 when it is not that.
int64_t unix_seconds(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (end == nullptr || *end != '\0') return 0;
  return static_cast<int64_t>(timegm(&tm));
}

bool same_release(const json& entry, const ReleaseRef& release) {
  auto lower = [](std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
  };
  return entry.value("release_id", int64_t{0}) == release.release_id && lower(entry.value("repo", "")) == lower(release.repo);
}

std::string withdrawn_text(const json& entry) {
  const json& w = entry["withdrawn"];
  return "the release was " + w.value("action", std::string("withdrawn")) + " (delivery " +
         w.value("delivery", std::string("-")) + ")";
}

}  // namespace

Result<std::unique_ptr<LocalExecutor>> LocalExecutor::open(LocalExecutorConfig config) {
  if (config.run_command.empty()) return fail(ErrorKind::usage, "local executor: no run command");
  for (const char* sub : {"queue", "logs"})
    if (auto st = create_private_directories(config.state_dir / sub); !st) return fail(st.error());
  std::unique_ptr<LocalExecutor> executor(new LocalExecutor(std::move(config)));
  std::error_code ec;
  for (const auto& file : fs::directory_iterator(executor->m_config.state_dir / "queue", ec)) {
    if (file.path().extension() != ".json") continue;  // temporary files of a write a crash cut short
    auto text = read_small_file(file.path());
    if (!text) return fail(text.error());
    auto entry = json::parse(*text, nullptr, false);
    if (!entry.is_object() || !entry.contains("name") || !entry.contains("tag") || !entry.contains("seq"))
      return fail(ErrorKind::invalid_input, file.path().string() + ": damaged queue entry");
    if (entry["state"] == "running" && entry.contains("withdrawn")) {
      spdlog::info("queue: {} was being stopped ({}); it stays withdrawn", entry["name"].get<std::string>(),
                   withdrawn_text(entry));
      entry["state"] = "withdrawn";
      if (auto st = executor->write_entry(entry); !st) return fail(st.error());
    } else if (entry["state"] == "running") {
      spdlog::info("queue: {} was cut short by a stop or crash; it runs again", entry["name"].get<std::string>());
      entry["state"] = "queued";
      if (auto st = executor->write_entry(entry); !st) return fail(st.error());
    }
    executor->m_next_seq = std::max(executor->m_next_seq, entry["seq"].get<int64_t>() + 1);
    if (entry["state"] == "done")
      executor->m_last_success = std::max(executor->m_last_success, unix_seconds(entry.value("finished_at", "")));
    executor->m_entries.push_back(std::move(entry));
  }
  if (ec) return fail(ErrorKind::io, (executor->m_config.state_dir / "queue").string() + ": " + ec.message());
  std::sort(executor->m_entries.begin(), executor->m_entries.end(),
            [](const json& a, const json& b) { return a["seq"].get<int64_t>() < b["seq"].get<int64_t>(); });
  return executor;
}

LocalExecutor::~LocalExecutor() { stop(); }

fs::path LocalExecutor::entry_path(const std::string& name) const { return m_config.state_dir / "queue" / (name + ".json"); }

Status LocalExecutor::write_entry(const json& entry) const {
  return write_file_atomically(entry_path(entry["name"].get<std::string>()), entry.dump(2) + "\n", 0600);
}

Result<Submission> LocalExecutor::submit(const ReleaseRef& release, const WorkflowOrigin& origin) {
  std::string name = workflow_name(release);
  std::lock_guard lock(m_mutex);
  auto it = std::find_if(m_entries.begin(), m_entries.end(), [&](const json& e) { return e["name"] == name; });
  if (it != m_entries.end() && (*it)["state"] != "failed" && (*it)["state"] != "withdrawn") return Submission{false, name};
  json entry = it != m_entries.end() ? *it : json{{"name", name},        {"repo", release.repo},
                                                  {"tag", release.tag},  {"release_id", release.release_id},
                                                  {"seq", m_next_seq++}, {"attempts", 0}};
  entry["state"] = "queued";
  entry.erase("withdrawn");
  if (!release.state.empty()) entry["release_state"] = release.state;
  entry["delivery"] = origin.delivery_id;
  entry["action"] = origin.action;
  entry["accepted_at"] = utc_now();
  // On disk (flushed) before the caller answers 201.
  if (auto st = write_entry(entry); !st) return fail(st.error().with_context("queue"));
  if (it != m_entries.end())
    *it = std::move(entry);
  else
    m_entries.push_back(std::move(entry));
  m_wake.notify_one();
  return Submission{true, name};
}

Result<Withdrawal> LocalExecutor::withdraw(const ReleaseRef& release, const WorkflowOrigin& origin) {
  std::lock_guard lock(m_mutex);
  Withdrawal out;
  for (auto& entry : m_entries) {
    if (!same_release(entry, release) || (entry["state"] != "queued" && entry["state"] != "running")) continue;
    entry["withdrawn"] = {{"action", origin.action}, {"delivery", origin.delivery_id}, {"at", utc_now()}};
    const std::string name = entry["name"];
    if (entry["state"] == "queued") entry["state"] = "withdrawn";
    // On disk before the answer, so that a crash cannot run it again.
    if (auto st = write_entry(entry); !st) return fail(st.error().with_context("queue"));
    if (entry["state"] == "running" && m_running == name) {
      if (pid_t child = m_child.load(); child > 0) ::kill(-child, SIGTERM);
      spdlog::info("queue: {}: {}; stopping the run before it publishes more", name, withdrawn_text(entry));
    } else {
      spdlog::info("queue: {}: {}; taken off the queue", name, withdrawn_text(entry));
    }
    out.stopped.push_back(name);
  }
  return out;
}

Status LocalExecutor::ready() {
  auto queue = m_config.state_dir / "queue";
  if (::access(queue.c_str(), W_OK | X_OK) != 0) return fail(ErrorKind::io, queue.string() + ": not writable");
  return {};
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
    if (pid_t child = m_child.load(); child > 0) ::kill(-child, SIGTERM);
  }
  m_wake.notify_all();
  if (m_worker.joinable()) m_worker.join();
}

std::vector<json> LocalExecutor::entries() const {
  std::lock_guard lock(m_mutex);
  return m_entries;
}

std::string LocalExecutor::metrics_text() const {
  std::lock_guard lock(m_mutex);
  auto count = [this](const char* state) {
    return std::count_if(m_entries.begin(), m_entries.end(), [state](const json& e) { return e["state"] == state; });
  };
  std::string out =
      "# HELP sbpipe_local_queue_depth Releases accepted and waiting to run (local executor).\n"
      "# TYPE sbpipe_local_queue_depth gauge\n"
      "sbpipe_local_queue_depth " +
      std::to_string(count("queued")) +
      "\n"
      "# HELP sbpipe_local_runs_running Runs in progress now (local executor; at most 1).\n"
      "# TYPE sbpipe_local_runs_running gauge\n"
      "sbpipe_local_runs_running " +
      std::to_string(count("running")) +
      "\n"
      "# HELP sbpipe_local_runs_total Runs ended since the receiver started, by outcome.\n"
      "# TYPE sbpipe_local_runs_total counter\n";
  for (const char* outcome : {"succeeded", "failed", "withdrawn"}) {
    auto it = m_outcomes.find(outcome);
    out += "sbpipe_local_runs_total{outcome=\"" + std::string(outcome) + "\"} " +
           std::to_string(it == m_outcomes.end() ? 0 : it->second) + "\n";
  }
  out +=
      "# HELP sbpipe_last_successful_release_timestamp_seconds When the last run that succeeded ended (Unix time).\n"
      "# TYPE sbpipe_last_successful_release_timestamp_seconds gauge\n";
  if (m_last_success > 0) out += "sbpipe_last_successful_release_timestamp_seconds " + std::to_string(m_last_success) + "\n";
  return out;
}

void LocalExecutor::note_outcome(const json& entry) {
  const std::string state = entry.value("state", "");
  ++m_outcomes[state == "done" ? "succeeded" : state];
  if (state == "done") m_last_success = std::max(m_last_success, unix_seconds(entry.value("finished_at", "")));
}

void LocalExecutor::work() {
  std::unique_lock lock(m_mutex);
  for (;;) {
    auto next = m_entries.end();
    m_wake.wait(lock, [&] {
      next = std::find_if(m_entries.begin(), m_entries.end(), [](const json& e) { return e["state"] == "queued"; });
      return m_stopping || next != m_entries.end();
    });
    if (m_stopping) return;
    json entry = *next;
    entry["state"] = "running";
    entry["attempts"] = entry["attempts"].get<int>() + 1;
    entry["started_at"] = utc_now();
    if (auto st = write_entry(entry); !st) spdlog::error("queue: {}", st.error().message());
    *next = entry;
    const std::string name = entry["name"];

    ChildSpec child;
    child.argv = m_config.run_command;
    child.argv.insert(child.argv.end(),
                      {"--tag", entry["tag"].get<std::string>(), "--repo", entry["repo"].get<std::string>(), "--wait"});
    if (entry.value("release_id", int64_t{0}) > 0)
      child.argv.insert(child.argv.end(), {"--release-id", std::to_string(entry["release_id"].get<int64_t>())});
    if (entry.contains("release_state"))
      child.argv.insert(child.argv.end(), {"--release-state", entry["release_state"].get<std::string>()});
    child.output = m_config.state_dir / "logs" / (name + ".log");
    child.new_process_group = true;
    m_running = name;
    lock.unlock();
    spdlog::info("queue: running {} (attempt {}; log {})", name, entry["attempts"].get<int>(), child.output->string());
    auto exit = run_child(child, &m_child);
    lock.lock();
    m_running.clear();

    auto it = std::find_if(m_entries.begin(), m_entries.end(), [&](const json& e) { return e["name"] == name; });
    if (it->contains("withdrawn")) {
      // Stopped for a withdrawal (or finished just before it arrived).
      bool finished = exit && *exit == 0;
      (*it)["state"] = finished ? "done" : "withdrawn";
      (*it)["finished_at"] = utc_now();
      note_outcome(*it);
      if (!finished) {
        std::ofstream log(*child.output, std::ios::app);
        log << "sbpipe serve: " << withdrawn_text(*it) << "; the run was stopped before publishing more\n";
      }
      if (auto st = write_entry(*it); !st) spdlog::error("queue: {}", st.error().message());
      spdlog::info("queue: {} {}", name, finished ? "done" : "withdrawn: " + withdrawn_text(*it));
      continue;
    }
    if (m_stopping) {
      (*it)["state"] = "queued";  // cut short by stop(): runs again on the next start
      if (auto st = write_entry(*it); !st) spdlog::error("queue: {}", st.error().message());
      spdlog::info("queue: {} stopped; it runs again on the next start", name);
      return;
    }
    (*it)["finished_at"] = utc_now();
    if (!exit) {
      (*it)["state"] = "failed";
      (*it)["error"] = exit.error().message();
    } else {
      (*it)["state"] = *exit == 0 ? "done" : "failed";
      (*it)["exit_code"] = *exit;
    }
    note_outcome(*it);
    if (auto st = write_entry(*it); !st) spdlog::error("queue: {}", st.error().message());
    if ((*it)["state"] == "done")
      spdlog::info("queue: {} done", name);
    else
      spdlog::error("queue: {} failed (see {}); a redelivery runs it again", name, child.output->string());
  }
}

}  // namespace sbpipe

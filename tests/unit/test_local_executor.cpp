// The local executor's queue without a pipeline: typed entries (every kind
// of damage refused with the file and the field named), the queue on disk
// (damaged entries moved aside, kept, and the service going on), and the
// state machine driven through a fake process runner that plays `sbpipe
// run` until the test ends it or the executor signals its group: withdraw
// while queued or running, cancel and retry from another process, stop,
// and restart after a crash.

#include <doctest/doctest.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/redact.h"
#include "support/process.h"
#include "support/prometheus_text.h"
#include "unit/fakes.h"
#include "webhook/local_executor.h"
#include "webhook/notifier.h"
#include "webhook/queue_control.h"

using namespace sbpipe;
using namespace sbpipe::test;
namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

const ReleaseRef kRelease{"owner/talos-build", "v1.9.0", 4242, "prerelease"};
const std::string kName = "talos-build-v1-9-0-4242";

// A clock for entries' times: fixed, and safe to read from the worker.
class StillClock final : public Clock {
public:
  std::chrono::steady_clock::time_point now() override { return std::chrono::steady_clock::time_point{}; }
  std::chrono::system_clock::time_point wall_now() override {
    return std::chrono::system_clock::time_point{std::chrono::seconds(1'800'000'000)};
  }
  void sleep_for(std::chrono::milliseconds) override {}
  UtcSeconds wall_now_seconds() { return std::chrono::floor<std::chrono::seconds>(wall_now()); }
};

// Plays `sbpipe run`: each run() records its argv, reports a pid, and
// blocks until the test ends it (end_run) or the executor signals its
// group (it then ends with 128 + the signal, as a killed process does).
class FakeRuns final : public ProcessRunner {
public:
  std::optional<std::string> find_program(const std::string& name) override { return name; }

  Result<int> run(const ChildSpec& spec) override {
    std::unique_lock lock(m_mutex);
    m_argvs.push_back(spec.argv);
    if (m_cannot_start) {
      m_changed.notify_all();
      return fail(ErrorKind::io, "cannot start sbpipe: No such file or directory");
    }
    pid_t pid = m_next_pid++;
    m_current = pid;
    m_changed.notify_all();
    lock.unlock();
    if (spec.on_start) spec.on_start(StartedChild{pid, 77});
    lock.lock();
    m_changed.wait(lock, [&] { return m_exit.has_value(); });
    int status = *m_exit;
    m_exit.reset();
    m_current = 0;
    return status;
  }

  bool signal_group(pid_t pid, int signal) override {
    std::lock_guard lock(m_mutex);
    if (pid != m_current || m_current == 0) return false;
    m_signals.push_back(signal);
    m_exit = 128 + signal;
    m_changed.notify_all();
    return true;
  }

  // Waits until `n` runs have started (10 s at most).
  bool wait_started(size_t n) {
    std::unique_lock lock(m_mutex);
    return m_changed.wait_for(lock, 10s, [&] { return m_argvs.size() >= n; });
  }
  // Ends the run in progress with `status` once there is one.
  void end_run(int status) {
    std::unique_lock lock(m_mutex);
    REQUIRE(m_changed.wait_for(lock, 10s, [&] { return m_current != 0 && !m_exit; }));
    m_exit = status;
    m_changed.notify_all();
  }
  pid_t current() {
    std::lock_guard lock(m_mutex);
    return m_current;
  }
  std::vector<std::vector<std::string>> argvs() {
    std::lock_guard lock(m_mutex);
    return m_argvs;
  }
  std::vector<int> signals() {
    std::lock_guard lock(m_mutex);
    return m_signals;
  }
  void cannot_start() {
    std::lock_guard lock(m_mutex);
    m_cannot_start = true;
  }

private:
  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::vector<std::vector<std::string>> m_argvs;
  std::vector<int> m_signals;
  std::optional<int> m_exit;
  pid_t m_next_pid = 5000;
  pid_t m_current = 0;
  bool m_cannot_start = false;
};

// Records each notification (the executor's worker sends them).
class RecordingNotifier final : public Notifier {
public:
  void notify(const RunOutcome& outcome) override {
    std::lock_guard lock(m_mutex);
    m_outcomes.push_back(outcome);
  }
  std::vector<RunOutcome> outcomes() {
    std::lock_guard lock(m_mutex);
    return m_outcomes;
  }

private:
  std::mutex m_mutex;
  std::vector<RunOutcome> m_outcomes;
};

// The log lines written while it lives (the default logger's, replaced).
class LogLines final : public spdlog::sinks::base_sink<std::mutex> {
public:
  std::vector<std::string> lines() {
    std::lock_guard lock(mutex_);
    return m_lines;
  }

protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    m_lines.emplace_back(std::string(spdlog::level::to_string_view(msg.level).data()) + " " +
                         std::string(msg.payload.data(), msg.payload.size()));
  }
  void flush_() override {}

private:
  std::vector<std::string> m_lines;
};

struct CapturedLog {
  std::shared_ptr<LogLines> sink = std::make_shared<LogLines>();
  std::shared_ptr<spdlog::logger> saved = spdlog::default_logger();
  CapturedLog() { spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink)); }
  ~CapturedLog() { spdlog::set_default_logger(saved); }
  std::vector<std::string> matching(const std::string& text) {
    std::vector<std::string> out;
    for (auto& l : sink->lines())
      if (l.find(text) != std::string::npos) out.push_back(l);
    return out;
  }
};

struct Queue {
  TempDir dir;
  StillClock clock;
  FakeRuns runs;
  std::unique_ptr<LocalExecutor> executor;
  std::shared_ptr<RecordingNotifier> notifier = std::make_shared<RecordingNotifier>();

  void open() {
    auto opened = LocalExecutor::open(LocalExecutorConfig{dir.path(), {"sbpipe", "run"}, 20ms, notifier}, runs, clock);
    REQUIRE_MESSAGE(opened, opened.error().message());
    executor = std::move(*opened);
  }
  void close() { executor.reset(); }
  json file(const std::string& name = kName) { return json::parse(read_file(dir / "queue" / (name + ".json"))); }
  // `running` is stored before the spawn and the child's pid after it; a
  // test that reaches `running` means the run has started, pid recorded.
  bool reaches(const std::string& name, EntryState state) {
    return executor->TEST_wait_until(
        [&](const std::vector<QueueEntry>& entries) {
          for (const auto& e : entries)
            if (e.name == name && e.state == state && (state != EntryState::running || e.child)) return true;
          return false;
        },
        10s);
  }
  RunQueue queue() { return *RunQueue::open(dir.path(), RunQueue::Create::no); }
  // Two releases submitted (deliveries d-1, d-2) and the executor started: the first
  // (kRelease) running, the second returned, queued behind it.
  ReleaseRef first_running_second_queued() {
    open();
    ReleaseRef second{"owner/talos-build", "v1.9.1", 4243};
    REQUIRE(executor->submit(kRelease, WorkflowOrigin{"d-1", "created"}));
    REQUIRE(executor->submit(second, WorkflowOrigin{"d-2", "created"}));
    executor->start();
    REQUIRE(runs.wait_started(1));
    CHECK(reaches(kName, EntryState::running));
    return second;
  }
};

// A valid entry file's JSON, to damage one field at a time.
json good_entry() {
  return json{{"name", kName},     {"repo", "owner/talos-build"},
              {"tag", "v1.9.0"},   {"release_id", 4242},
              {"seq", 3},          {"attempts", 1},
              {"state", "failed"}, {"release_state", "prerelease"},
              {"exit_code", 1},    {"accepted_at", "2026-12-06T01:19:44Z"}};
}

std::string parse_problem(const std::string& text, const std::string& file = "/q/" + kName + ".json") {
  auto parsed = parse_queue_entry(text, file);
  if (parsed) return "";
  CHECK(parsed.error().kind() == ErrorKind::invalid_input);
  return parsed.error().message();
}

}  // namespace

TEST_SUITE("unit") {

TEST_CASE("queue entry: every field written is read back, and the times are UTC seconds") {
  QueueEntry e{.name = kName, .repo = kRelease.repo, .tag = kRelease.tag, .release_id = 4242, .release_state = "draft", .seq = 7};
  e.attempts = 2;
  e.state = EntryState::running;
  e.delivery = "d-9";
  e.action = "published";
  e.accepted_at = UtcSeconds(std::chrono::seconds(1'800'000'000));
  e.started_at = UtcSeconds(std::chrono::seconds(1'800'000'100));
  e.withdrawn = StopRecord{"unpublished", "d-10", UtcSeconds(std::chrono::seconds(1'800'000'200))};
  e.exit_code = 143;
  e.error = "x";
  e.child = StartedChild{4321, 99};
  std::string text = queue_entry_text(e);
  CHECK(json::parse(text)["accepted_at"] == "2027-01-15T08:00:00Z");
  auto back = parse_queue_entry(text, "/q/" + kName + ".json");
  REQUIRE(back);
  CHECK(queue_entry_text(*back) == text);
  CHECK(back->child->pid == 4321);
  CHECK(back->child->start_time == 99);
  CHECK(back->withdrawn->delivery == "d-10");
  // The files serve wrote before entries were typed read as they were.
  auto old = parse_queue_entry(
      R"({"name":"talos-build-v1-9-0-4242","repo":"owner/talos-build","tag":"v1.9.0","release_id":4242,"seq":1,)"
      R"("attempts":0,"state":"withdrawn","delivery":"d-1","action":"created","accepted_at":"2026-12-06T01:19:44Z",)"
      R"("withdrawn":{"action":"unpublished","delivery":"d-3","at":"2026-12-06T01:20:00Z"}})",
      "/q/" + kName + ".json");
  REQUIRE(old);
  CHECK(old->state == EntryState::withdrawn);
}

TEST_CASE("queue entry: every kind of damage is refused with the file and the field named") {
  const std::string file = "/q/" + kName + ".json";
  auto with = [](const char* key, json value) {
    json e = good_entry();
    e[key] = std::move(value);
    return e.dump();
  };
  auto without = [](const char* key) {
    json e = good_entry();
    e.erase(key);
    return e.dump();
  };
  CHECK(parse_problem(good_entry().dump()).empty());
  SUBCASE("not JSON, cut short, empty, not an object") {
    CHECK(parse_problem("{\"name\": \"talos") == file + ": not JSON");
    CHECK(parse_problem("") == file + ": empty");
    CHECK(parse_problem("[1,2]") == file + ": not a JSON object");
    CHECK(parse_problem("{\"tag\": \"v1\xff\"}") == file + ": not JSON");  // not UTF-8
  }
  SUBCASE("a field missing") {
    for (const char* key : {"name", "repo", "tag", "release_id", "seq", "attempts", "state"})
      CHECK(parse_problem(without(key)) == file + ": " + key + " is missing");
  }
  SUBCASE("a field of the wrong type") {
    CHECK(parse_problem(with("attempts", "2")) == file + ": attempts must be a whole number");
    CHECK(parse_problem(with("seq", 1.5)) == file + ": seq must be a whole number");
    CHECK(parse_problem(with("tag", 5)) == file + ": tag must be a string");
    CHECK(parse_problem(with("withdrawn", "yes")) == file + ": withdrawn must be an object");
    CHECK(parse_problem(with("withdrawn", json{{"delivery", "d"}})) == file + ": withdrawn.action is missing");
    CHECK(parse_problem(with("cancelled", json{{"action", "cancel"}, {"at", 3}})) == file + ": cancelled.at must be a string");
  }
  SUBCASE("a value out of range") {
    CHECK(parse_problem(with("attempts", -1)) == file + ": attempts must be at least 0");
    CHECK(parse_problem(with("seq", 0)) == file + ": seq must be at least 1");
    CHECK(parse_problem(with("release_id", -3)) == file + ": release_id must be at least 0");
    CHECK(parse_problem(with("seq", json(18446744073709551615ull))) == file + ": seq is out of range");
    CHECK(parse_problem(with("exit_code", 300)) == file + ": exit_code must be 0 to 255");
    CHECK(parse_problem(with("attempts", 5000000)) == file + ": attempts is out of range");
  }
  SUBCASE("a word that is not one") {
    CHECK(parse_problem(with("state", "paused")) ==
          file + ": state 'paused' is not one of queued, running, done, failed, withdrawn, cancelled");
    CHECK(parse_problem(with("accepted_at", "yesterday")) ==
          file + ": accepted_at must be a UTC time such as 2026-12-06T01:19:44Z");
    CHECK(parse_problem(with("release_state", "published")) == file + ": release_state must be prerelease or draft");
    CHECK(parse_problem(with("repo", "talos-build")) == file + ": repo 'talos-build' is not OWNER/NAME");
  }
  SUBCASE("a tag that would be a flag of the child's command line") {
    CHECK(parse_problem(with("tag", "--config=/etc/x")) ==
          file + ": tag '--config=/etc/x' is not a version tag (letters, digits, . _ + -)");
    CHECK(parse_problem(with("tag", "../v1")) == file + ": tag '../v1' is not a version tag (letters, digits, . _ + -)");
  }
  SUBCASE("a name that is not the release's, or not the file's") {
    CHECK(parse_problem(with("tag", "v1.9.1")) ==
          file +
              ": name 'talos-build-v1-9-0-4242' is not the one of owner/talos-build v1.9.1 release 4242 "
              "(talos-build-v1-9-1-4242)");
    CHECK(parse_problem(good_entry().dump(), "/q/other.json") ==
          "/q/other.json: holds the entry talos-build-v1-9-0-4242, which belongs in talos-build-v1-9-0-4242.json");
  }
}

TEST_CASE("local executor: a damaged entry is named in one line, moved aside whole, and the others run") {
  CapturedLog log;
  Queue q;
  fs::create_directories(q.dir / "queue");
  write_file(q.dir / "queue" / (kName + ".json"), "{\"name\": \"talos");  // a write cut short (hand-made)
  json good = good_entry();
  good["name"] = "talos-build-v1-9-1-4243";
  good["tag"] = "v1.9.1";
  good["release_id"] = 4243;
  good["state"] = "queued";
  write_file(q.dir / "queue" / "talos-build-v1-9-1-4243.json", good.dump());
  fs::create_directory(q.dir / "queue" / "dir.json");  // not a regular file
  q.open();
  auto moved = log.matching("moved to");
  REQUIRE(moved.size() == 2);
  CHECK(log.matching(kName + ".json: not JSON; moved to " + (q.dir / "queue" / "damaged" / (kName + ".json")).string() +
                     " (kept for you; the service goes on)")
            .size() == 1);
  CHECK(read_file(q.dir / "queue" / "damaged" / (kName + ".json")) == "{\"name\": \"talos");  // whole, as it was
  CHECK(fs::is_directory(q.dir / "queue" / "damaged" / "dir.json"));
  CHECK(q.executor->entries().size() == 1);
  CHECK(parse_prometheus_text(q.executor->metrics_text()).value("sbpipe_local_damaged_entries_total") == 2);

  // The service goes on: the good entry runs, and the damaged release can be delivered again.
  q.executor->start();
  REQUIRE(q.runs.wait_started(1));
  q.runs.end_run(0);
  CHECK(q.reaches("talos-build-v1-9-1-4243", EntryState::done));
  REQUIRE(q.executor->submit(kRelease, WorkflowOrigin{"d-1", "created"})->created);
  REQUIRE(q.runs.wait_started(2));
  // Its child recorded (the executor's last write of the entry before the run ends), so the
  // damage below is not overwritten by that write.
  REQUIRE(q.executor->TEST_wait_until(
      [](const std::vector<QueueEntry>& entries) {
        return std::any_of(entries.begin(), entries.end(), [](const QueueEntry& e) { return e.name == kName && e.child; });
      },
      10s));

  // Damaged while serve runs: the entry of the run in progress, and a new file. Neither stops it.
  write_file(q.dir / "queue" / (kName + ".json"), "{\"name\": 7}");
  write_file(q.dir / "queue" / "talos-build-v2-0-0-9.json", json{{"attempts", "x"}}.dump());
  q.runs.end_run(0);
  CHECK(q.executor->TEST_wait_until([](const std::vector<QueueEntry>& entries) { return entries.size() == 1; }, 10s));
  CHECK(fs::exists(q.dir / "queue" / "damaged" / (kName + ".json.2")));  // the earlier one is kept too
  CHECK(fs::exists(q.dir / "queue" / "damaged" / "talos-build-v2-0-0-9.json"));
  CHECK(log.matching(kName + ": its entry went away while it ran (it ended with exit status 0)").size() == 1);
  REQUIRE(q.executor->submit(ReleaseRef{"owner/talos-build", "v1.9.2", 4244}, WorkflowOrigin{"d-2", "created"}));
  REQUIRE(q.runs.wait_started(3));
  q.runs.end_run(1);
  CHECK(q.reaches("talos-build-v1-9-2-4244", EntryState::failed));
}

TEST_CASE("local executor: one run at a time, its command line from the entry, failures run again on redelivery") {
  Queue q;
  q.open();
  auto first = q.executor->submit(kRelease, WorkflowOrigin{"d-1", "created"});
  REQUIRE(first);
  CHECK(first->created);
  CHECK(first->name == kName);
  CHECK(q.file()["state"] == "queued");  // on disk before submit returned
  CHECK((fs::status(q.dir / "queue").permissions() & fs::perms::others_all) == fs::perms::none);
  CHECK_FALSE(q.executor->submit(kRelease, WorkflowOrigin{"d-2", "published"})->created);
  REQUIRE(q.executor->submit(ReleaseRef{"owner/talos-build", "v1.9.1", 4243}, WorkflowOrigin{"d-3", "created"}));
  q.executor->start();
  REQUIRE(q.runs.wait_started(1));
  CHECK(q.runs.argvs()[0] == std::vector<std::string>{"sbpipe", "run", "--tag", "v1.9.0", "--repo", "owner/talos-build", "--wait",
                                                      "--release-id", "4242", "--release-state", "prerelease"});
  CHECK(q.reaches(kName, EntryState::running));
  CHECK(q.file()["pid"] == 5000);     // for `sbpipe runs cancel` in another process
  CHECK(q.runs.argvs().size() == 1);  // the second waits for the first
  q.runs.end_run(1);
  CHECK(q.reaches(kName, EntryState::failed));
  CHECK(q.file()["exit_code"] == 1);
  CHECK_FALSE(q.file().contains("pid"));
  REQUIRE(q.runs.wait_started(2));
  q.runs.end_run(0);
  CHECK(q.reaches("talos-build-v1-9-1-4243", EntryState::done));
  // A redelivery of the failed one queues it again; its attempts count on.
  CHECK(q.executor->submit(kRelease, WorkflowOrigin{"d-4", "published"})->created);
  REQUIRE(q.runs.wait_started(3));
  q.runs.end_run(0);
  CHECK(q.reaches(kName, EntryState::done));
  CHECK(q.file()["attempts"] == 2);
  CHECK_FALSE(q.executor->submit(kRelease, WorkflowOrigin{"d-5", "published"})->created);  // done is final
  // A run that cannot start fails with the reason.
  q.runs.cannot_start();
  REQUIRE(q.executor->submit(ReleaseRef{"owner/talos-build", "v1.9.2", 4244}, WorkflowOrigin{"d-6", "created"}));
  CHECK(q.reaches("talos-build-v1-9-2-4244", EntryState::failed));
  CHECK(q.file("talos-build-v1-9-2-4244")["error"] == "cannot start sbpipe: No such file or directory");
}

TEST_CASE("local executor: withdrawn while queued it never runs; while running its group is stopped") {
  CapturedLog log;
  Queue q;
  const ReleaseRef second = q.first_running_second_queued();

  auto queued = q.executor->withdraw(second, WorkflowOrigin{"d-3", "unpublished"});
  REQUIRE(queued);
  CHECK(queued->stopped == std::vector<std::string>{"talos-build-v1-9-1-4243"});
  CHECK(q.file("talos-build-v1-9-1-4243")["state"] == "withdrawn");
  CHECK(q.file("talos-build-v1-9-1-4243")["withdrawn"]["delivery"] == "d-3");

  auto running = q.executor->withdraw(kRelease, WorkflowOrigin{"d-4", "deleted"});
  REQUIRE(running);
  CHECK(running->stopped == std::vector<std::string>{kName});
  CHECK(q.reaches(kName, EntryState::withdrawn));
  CHECK(q.runs.signals() == std::vector<int>{SIGTERM});
  CHECK(q.file()["exit_code"] == 128 + SIGTERM);
  CHECK(read_file(q.dir / "logs" / (kName + ".log")) ==
        "sbpipe serve: attempt 1 of talos-build-v1-9-0-4242 (v1.9.0), started 2027-01-15T08:00:00Z\n"
        "sbpipe serve: the release was deleted (delivery d-4); the run was stopped before publishing more\n");
  CHECK(q.runs.argvs().size() == 1);                                                         // the withdrawn one never ran
  CHECK(q.executor->withdraw(kRelease, WorkflowOrigin{"d-5", "deleted"})->stopped.empty());  // nothing left
  CHECK(parse_prometheus_text(q.executor->metrics_text()).value("sbpipe_local_runs_total{outcome=\"withdrawn\"}") == 1);
  // Published again: a start delivery queues it anew.
  CHECK(q.executor->submit(kRelease, WorkflowOrigin{"d-6", "published"})->created);
  REQUIRE(q.runs.wait_started(2));
  q.runs.end_run(0);
  CHECK(q.reaches(kName, EntryState::done));
  CHECK_FALSE(q.file().contains("withdrawn"));
}

TEST_CASE("local executor: cancel and retry from another process, with serve running and without") {
  Queue q;
  const ReleaseRef second = q.first_running_second_queued();
  auto queue = q.queue();
  CHECK(queue.serve_pid() == ::getpid());

  // Cancelled while queued: off the queue at once.
  std::vector<StartedChild> signalled;
  auto signaller = [&](const StartedChild& child, int signal) {
    signalled.push_back(child);
    return q.runs.signal_group(child.pid, signal);
  };
  auto off = cancel_entry(queue, "talos-build-v1-9-1-4243", q.clock.wall_now_seconds(), signaller);
  REQUIRE(off);
  CHECK(off->detail == "taken off the queue; it will not run");
  CHECK(q.file("talos-build-v1-9-1-4243")["state"] == "cancelled");
  CHECK(signalled.empty());

  // Cancelled while running: the recorded group is signalled; serve ends the entry cancelled.
  auto stopped = cancel_entry(queue, kName, q.clock.wall_now_seconds(), signaller);
  REQUIRE(stopped);
  CHECK(stopped->detail ==
        "stopping its run: SIGTERM sent to process group 5000 (sbpipe run and imager); serve records it cancelled when it "
        "has stopped");
  REQUIRE(signalled.size() == 1);
  CHECK(signalled[0].pid == 5000);
  CHECK(signalled[0].start_time == 77);
  CHECK(q.reaches(kName, EntryState::cancelled));
  CHECK(read_file(q.dir / "logs" / (kName + ".log")).find("it was cancelled (sbpipe runs cancel)") != std::string::npos);
  CHECK(cancel_entry(queue, kName, q.clock.wall_now_seconds(), signaller).error().message() ==
        kName + " is cancelled: nothing to cancel");

  // Retried: serve finds it on its next look at the directory and runs it.
  auto retried = retry_entry(queue, kName, q.clock.wall_now_seconds());
  REQUIRE(retried);
  CHECK(retried->detail == "queued again (it was cancelled; attempts so far: 1)");
  REQUIRE(q.runs.wait_started(2));
  q.runs.end_run(0);
  CHECK(q.reaches(kName, EntryState::done));
  CHECK(q.file()["attempts"] == 2);
  CHECK(q.file()["action"] == "retry");
  auto again = retry_entry(queue, kName, q.clock.wall_now_seconds());
  REQUIRE_FALSE(again);
  CHECK(again.error().kind() == ErrorKind::conflict);
  CHECK(again.error().message() ==
        kName +
            " is done: a finished release is not built again (to build v1.9.0 anew by hand: sbpipe run --tag v1.9.0 "
            "--restart)");
  CHECK(retry_entry(queue, "no-such-run", q.clock.wall_now_seconds()).error().kind() == ErrorKind::not_found);

  // Without serve, a retried entry waits for the next start.
  q.close();
  CHECK_FALSE(queue.serve_pid());
  REQUIRE(retry_entry(queue, "talos-build-v1-9-1-4243", q.clock.wall_now_seconds()));
  q.open();
  q.executor->start();
  REQUIRE(q.runs.wait_started(3));
  CHECK(q.runs.argvs()[2][3] == "v1.9.1");
  q.runs.end_run(0);
  CHECK(q.reaches("talos-build-v1-9-1-4243", EntryState::done));
}

TEST_CASE("local executor: stopped or crashed while running, the entry runs again; a stop mark keeps it stopped") {
  Queue q;
  q.open();
  REQUIRE(q.executor->submit(kRelease, WorkflowOrigin{"d-1", "created"}));
  q.executor->start();
  REQUIRE(q.runs.wait_started(1));
  CHECK(q.reaches(kName, EntryState::running));
  q.close();  // stop(): SIGTERM to the run's group, the entry stays queued
  CHECK(q.runs.signals() == std::vector<int>{SIGTERM});
  CHECK(q.file()["state"] == "queued");
  CHECK(q.file()["attempts"] == 1);

  // A crash leaves the file "running" (with the child that was running).
  json crashed = q.file();
  crashed["state"] = "running";
  crashed["pid"] = 5000;
  write_file(q.dir / "queue" / (kName + ".json"), crashed.dump());
  q.open();
  CHECK(q.file()["state"] == "queued");
  CHECK_FALSE(q.file().contains("pid"));
  q.executor->start();
  REQUIRE(q.runs.wait_started(2));
  q.runs.end_run(0);
  CHECK(q.reaches(kName, EntryState::done));
  CHECK(q.file()["attempts"] == 2);

  // Crashed while a withdrawal or a cancel was stopping it: it stays stopped.
  q.close();
  for (const auto& [mark, state] : {std::pair{"withdrawn", "withdrawn"}, std::pair{"cancelled", "cancelled"}}) {
    json stopping = q.file();
    stopping["state"] = "running";
    stopping.erase("withdrawn");
    stopping.erase("cancelled");
    stopping[mark] = {{"action", "x"}, {"at", "2026-12-06T01:19:44Z"}};
    write_file(q.dir / "queue" / (kName + ".json"), stopping.dump());
    q.open();
    CHECK(q.file()["state"] == state);
    q.close();
  }
  CHECK(q.runs.argvs().size() == 2);
}

TEST_CASE("local executor: one serve per queue; metrics count outcomes and keep the last success across a restart") {
  Queue q;
  q.open();
  auto second = LocalExecutor::open(LocalExecutorConfig{q.dir.path(), {"sbpipe", "run"}}, q.runs, q.clock);
  REQUIRE_FALSE(second);
  CHECK(second.error().kind() == ErrorKind::conflict);
  CHECK(second.error().message() ==
        "another sbpipe serve (pid " + std::to_string(::getpid()) + ") works the queue in " + (q.dir / "queue").string());

  auto empty = parse_prometheus_text(q.executor->metrics_text());
  CHECK(empty.problems.empty());
  CHECK(empty.types["sbpipe_local_queue_depth"] == "gauge");
  CHECK(empty.types["sbpipe_local_runs_total"] == "counter");
  CHECK_FALSE(empty.has("sbpipe_last_successful_release_timestamp_seconds"));
  REQUIRE(q.executor->submit(kRelease, WorkflowOrigin{"d-1", "created"}));
  REQUIRE(q.executor->submit(ReleaseRef{"owner/talos-build", "v1.9.1", 4243}, WorkflowOrigin{"d-2", "created"}));
  CHECK(parse_prometheus_text(q.executor->metrics_text()).value("sbpipe_local_queue_depth") == 2);
  q.executor->start();
  q.runs.end_run(0);
  q.runs.end_run(1);
  CHECK(q.reaches("talos-build-v1-9-1-4243", EntryState::failed));
  auto after = parse_prometheus_text(q.executor->metrics_text());
  CHECK(after.problems.empty());
  CHECK(after.value("sbpipe_local_queue_depth") == 0);
  CHECK(after.value("sbpipe_local_runs_total{outcome=\"succeeded\"}") == 1);
  CHECK(after.value("sbpipe_local_runs_total{outcome=\"failed\"}") == 1);
  CHECK(after.value("sbpipe_last_successful_release_timestamp_seconds") == 1'800'000'000);
  q.close();
  q.open();
  auto reopened = parse_prometheus_text(q.executor->metrics_text());
  CHECK(reopened.value("sbpipe_last_successful_release_timestamp_seconds") == 1'800'000'000);
  CHECK(reopened.value("sbpipe_local_runs_total{outcome=\"succeeded\"}") == 0);
}

TEST_CASE("notifications: how each run ended, with the upgrade line, delivered with retries") {
  Queue q;
  q.open();
  // The run's journal, as sbpipe run leaves it after a push.
  fs::create_directories(q.dir / "v1.9.0");
  write_file(q.dir / "v1.9.0" / "journal.json",
             R"({"version":"v1.9.0","steps":{"plan":{},"push-installer":{"ref":"ghcr.io/alice/installer:v1.9.0@sha256:)" +
                 std::string(64, 'a') +
                 R"("},"finalize":{"release":"https://github.com/owner/talos-build/releases/tag/v1.9.0"}}})");
  REQUIRE(q.executor->submit(kRelease, WorkflowOrigin{"d-1", "created"}));
  REQUIRE(q.executor->submit(ReleaseRef{"owner/talos-build", "v1.9.1", 4243}, WorkflowOrigin{"d-2", "created"}));
  q.executor->start();
  q.runs.end_run(0);
  q.runs.end_run(1);
  CHECK(q.reaches("talos-build-v1-9-1-4243", EntryState::failed));
  q.close();  // the worker has sent both by then
  auto sent = q.notifier->outcomes();
  REQUIRE(sent.size() == 2);
  auto done = notification_json(sent[0]);
  CHECK(done["event"] == "run.succeeded");
  CHECK(done["upgrade"] == "talosctl upgrade --image ghcr.io/alice/installer:v1.9.0@sha256:" + std::string(64, 'a'));
  CHECK(done["release"] == "https://github.com/owner/talos-build/releases/tag/v1.9.0");
  CHECK(done["text"] ==
        "Talos v1.9.0 for owner/talos-build is released: https://github.com/owner/talos-build/releases/tag/"
        "v1.9.0. Upgrade with: talosctl upgrade --image ghcr.io/alice/installer:v1.9.0@sha256:" +
            std::string(64, 'a'));
  CHECK(done["content"] == done["text"]);
  auto failed = notification_json(sent[1]);
  CHECK(failed["event"] == "run.failed");
  CHECK(failed["exitCode"] == 1);
  CHECK(failed["upgrade"].is_null());
  CHECK(failed["text"] ==
        "The run of v1.9.1 for owner/talos-build failed before its first step (exit status 1); nothing after "
        "that step was published; sbpipe runs logs talos-build-v1-9-1-4243, then sbpipe runs retry "
        "talos-build-v1-9-1-4243");

  // Delivery: a 503 and a dropped connection are tried again, a 400 is not; the URL (a token in it) never logged.
  CapturedLog log;
  auto http = std::make_unique<FakeHttp>();
  FakeHttp* fake = http.get();
  FakeClock clock;
  TEST_clear_secrets();
  register_secret("https://hooks.example/T0KEN");
  auto notifier = make_webhook_notifier("https://hooks.example/T0KEN", std::move(http), clock);
  fake->reply(503);
  fake->reply_error(ErrorKind::transient);
  fake->reply(204);
  notifier->notify(sent[0]);
  REQUIRE(fake->requests.size() == 3);
  CHECK(fake->requests[0].method == "POST");
  CHECK(json::parse(fake->requests[0].body)["event"] == "run.succeeded");
  CHECK(clock.slept == std::vector<std::chrono::milliseconds>{1s, 2s});
  fake->reply(400);
  notifier->notify(sent[1]);
  CHECK(fake->requests.size() == 4);
  auto warned = log.matching("not delivered");
  REQUIRE(warned.size() == 1);
  CHECK(warned[0] == "warning notification for talos-build-v1-9-1-4243 not delivered to ***: HTTP 400");
  for (const auto& line : log.sink->lines()) CHECK(line.find("T0KEN") == std::string::npos);
  TEST_clear_secrets();
}

}  // TEST_SUITE("unit")

TEST_SUITE("unit") {

TEST_CASE("child processes: a group is signalled while its leader runs, and never once it has ended") {
  TempDir dir;
  ChildProcesses runner;
  auto pids = dir / "pids";
  // The leader starts a grandchild in its group, writes both pids, and waits for it.
  ChildSpec spec{{"sh", "-c", "sleep 60 & echo $$ $! > " + pids.string() + "; wait"}, {}, {}, dir / "out.log"};
  spec.new_process_group = true;
  std::mutex mutex;
  std::condition_variable started_cv;
  std::optional<StartedChild> started;
  spec.on_start = [&](const StartedChild& child) {
    std::lock_guard lock(mutex);
    started = child;
    started_cv.notify_all();
  };
  std::optional<Result<int>> exit;
  std::thread waiter([&] { exit = runner.run(spec); });
  {
    std::unique_lock lock(mutex);
    REQUIRE(started_cv.wait_for(lock, 10s, [&] { return started.has_value(); }));
  }
  CHECK(started->start_time == process_start_time(started->pid));
  CHECK(started->start_time > 0);
  // Until the grandchild exists (its pid written), then stop the group.
  std::string written;
  for (int i = 0; i < 1000 && written.find(' ') == std::string::npos; ++i) {
    if (fs::exists(pids)) written = read_file(pids);
    if (written.find('\n') == std::string::npos) written.clear();
    std::this_thread::sleep_for(10ms);
  }
  REQUIRE(written.find(' ') != std::string::npos);
  pid_t grandchild = std::stoi(written.substr(written.find(' ') + 1));
  CHECK(runner.signal_group(started->pid, SIGTERM));
  waiter.join();
  REQUIRE(exit.has_value());
  CHECK(**exit == 128 + SIGTERM);
  // The grandchild got it too (it may linger as a zombie until init reaps it).
  bool gone = false;
  for (int i = 0; i < 500 && !gone; ++i) {
    std::string stat = fs::exists("/proc/" + std::to_string(grandchild) + "/stat")
                           ? read_file("/proc/" + std::to_string(grandchild) + "/stat")
                           : "";
    gone = stat.empty() || stat.find(") Z ") != std::string::npos;
    if (!gone) std::this_thread::sleep_for(10ms);
  }
  CHECK(gone);
  if (!gone) ::kill(grandchild, SIGKILL);  // a failed check above: stop it all the same
  // Ended: neither the runner nor a start-time check signals that pid again.
  CHECK_FALSE(runner.signal_group(started->pid, SIGTERM));
  CHECK_FALSE(signal_started_group(*started, 0));
  CHECK_FALSE(signal_started_group(StartedChild{::getpid(), 1}, 0));  // this process, but another start time
}

}  // TEST_SUITE("unit")

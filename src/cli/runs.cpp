// sbpipe runs list|show|logs|retry|cancel: the runs of `sbpipe serve
// --executor local`, read from (and changed in) its queue on disk
// (webhook/run_queue.h), as `argo list|get|logs|retry|stop` do for
// Workflows. Safe while serve runs: changes take the queue's lock.

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "cli/output.h"
#include "cli/state_dir.h"
#include "core/clock.h"
#include "core/duration.h"
#include "core/file.h"
#include "core/table.h"
#include "webhook/queue_control.h"
#include "webhook/run_queue.h"

namespace sbpipe {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct RunsFlags {
  std::string state_dir;
  std::string config;
  std::string format = "text";
  std::string run;  // a name, a tag or @latest
  bool follow = false;
};

Result<RunQueue> open_queue(const RunsFlags& flags) {
  auto dir = chosen_state_dir(flags.state_dir, flags.config);
  if (!dir) return fail(dir.error());
  return RunQueue::open(*dir, RunQueue::Create::no);
}

// The entries, with a warning per damaged file (serve moves those aside).
Result<std::vector<QueueEntry>> read_entries(const RunQueue& queue) {
  auto contents = queue.load(OnDamage::report);
  if (!contents) return fail(contents.error());
  for (const auto& d : contents->damaged)
    spdlog::warn("{} (left in place; serve moves it to {}/damaged/)", d.reason, queue.queue_dir().string());
  return std::move(contents->entries);
}

Result<QueueEntry> chosen_entry(const RunQueue& queue, const std::string& selector) {
  auto entries = read_entries(queue);
  if (!entries) return fail(entries.error());
  return select_entry(*entries, selector);
}

UtcSeconds now() { return std::chrono::floor<std::chrono::seconds>(real_clock().wall_now()); }

std::string since(const std::optional<UtcSeconds>& at, UtcSeconds until) {
  if (!at) return "-";
  return format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(until - *at));
}

// How long the last run took (or has taken so far).
std::string took(const QueueEntry& e, UtcSeconds when) {
  if (!e.started_at) return "-";
  if (e.state == EntryState::running) return since(e.started_at, when);
  if (e.state == EntryState::queued || !e.finished_at || *e.finished_at < *e.started_at) return "-";
  return since(e.started_at, *e.finished_at);
}

// "failed (exit status 1)", "cancelled (sbpipe runs cancel)", "withdrawn (unpublished, delivery d-4)".
std::string state_text(const QueueEntry& e) {
  std::string text(entry_state_name(e.state));
  if (e.state == EntryState::failed && e.exit_code) return text + " (exit status " + std::to_string(*e.exit_code) + ")";
  if (e.state == EntryState::failed && !e.error.empty()) return text + " (" + e.error + ")";
  if (e.state == EntryState::withdrawn && e.withdrawn)
    return text + " (" + e.withdrawn->action + (e.withdrawn->delivery.empty() ? "" : ", delivery " + e.withdrawn->delivery) + ")";
  if (e.state == EntryState::cancelled) return text + " (sbpipe runs cancel)";
  return text;
}

json entry_json(const QueueEntry& e, const RunQueue& queue) {
  json out = json::parse(queue_entry_text(e));
  out["log"] = queue.log_path(e.name).string();
  return out;
}

// The journal's finished steps of the entry's version, in the order run
// recorded them; empty when there is no journal (yet).
std::vector<std::string> journal_steps(const RunQueue& queue, const QueueEntry& e, std::string& problem) {
  auto path = queue.state_dir() / e.tag / "journal.json";
  auto text = read_small_file(path, 16 << 20);
  if (!text) {
    if (text.error().kind() != ErrorKind::not_found) problem = text.error().message();
    return {};
  }
  auto doc = nlohmann::ordered_json::parse(*text, nullptr, false);
  if (!doc.is_object() || !doc.contains("steps") || !doc["steps"].is_object()) {
    problem = path.string() + ": damaged (not a journal)";
    return {};
  }
  std::vector<std::string> steps;
  for (const auto& [step, output] : doc["steps"].items()) steps.push_back(step);
  return steps;
}

void serve_note(const RunQueue& queue) {
  if (!queue.serve_pid())
    spdlog::info("no sbpipe serve works the queue in {} now: queued runs wait for 'sbpipe serve --executor local'",
                 queue.queue_dir().string());
}

Status run_list(const RunsFlags& flags) {
  if (auto st = check_choice("--format", flags.format, {"text", "json", "yaml"}); !st) return st;
  auto queue = open_queue(flags);
  if (!queue) return fail(queue.error());
  auto entries = read_entries(*queue);
  if (!entries) return fail(entries.error());
  if (flags.format != "text") {
    json runs = json::array();
    for (const auto& e : *entries) runs.push_back(entry_json(e, *queue));
    print_structured_result(flags.format, {{"stateDir", queue->state_dir().string()}, {"runs", runs}});
    return {};
  }
  if (entries->empty()) {
    spdlog::info("no runs in {}", queue->queue_dir().string());
    return {};
  }
  UtcSeconds when = now();
  Table table({"NAME", "TAG", "STATE", "ATTEMPTS", "AGE", "TOOK"});
  // Newest first, as argo list and kubectl get sort by age.
  for (auto it = entries->rbegin(); it != entries->rend(); ++it)
    table.add_row(
        {it->name, it->tag, state_text(*it), std::to_string(it->attempts), since(it->accepted_at, when), took(*it, when)});
  print_result_text(table.render());
  serve_note(*queue);
  return {};
}

Status run_show(const RunsFlags& flags) {
  if (auto st = check_choice("--format", flags.format, {"text", "json", "yaml"}); !st) return st;
  auto queue = open_queue(flags);
  if (!queue) return fail(queue.error());
  auto e = chosen_entry(*queue, flags.run);
  if (!e) return fail(e.error());
  std::string problem;
  auto steps = journal_steps(*queue, *e, problem);
  if (!problem.empty()) spdlog::warn("{}", problem);
  if (flags.format != "text") {
    print_structured_result(flags.format, {{"run", entry_json(*e, *queue)}, {"journalSteps", steps}});
    return {};
  }
  UtcSeconds when = now();
  auto at = [&](const std::optional<UtcSeconds>& t) { return t ? utc_text(*t) + " (" + since(t, when) + " ago)" : "-"; };
  Table table;
  table.add_row({"name", e->name});
  table.add_row({"release", e->repo + " " + e->tag + " (release id " + std::to_string(e->release_id) +
                                (e->release_state.empty() ? "" : ", " + e->release_state) + ")"});
  table.add_row({"state", state_text(*e)});
  table.add_row({"attempts", std::to_string(e->attempts)});
  table.add_row({"accepted", at(e->accepted_at) + (e->action.empty() ? "" : ", " + e->action) +
                                 (e->delivery.empty() ? "" : " (delivery " + e->delivery + ")")});
  table.add_row({"started", at(e->started_at)});
  if (e->state != EntryState::running && e->state != EntryState::queued) table.add_row({"finished", at(e->finished_at)});
  table.add_row({"took", took(*e, when)});
  if (e->child && e->state == EntryState::running) table.add_row({"process group", std::to_string(e->child->pid)});
  std::string done;
  for (const auto& s : steps) done += (done.empty() ? "" : ", ") + s;
  table.add_row({"steps done", done.empty() ? "none recorded" : done});
  table.add_row({"journal", (queue->state_dir() / e->tag / "journal.json").string()});
  table.add_row({"log", queue->log_path(e->name).string()});
  print_result_text(table.render());
  return {};
}

// Copies what the log holds past `offset` to stdout; the new offset.
Result<uint64_t> copy_log(const fs::path& log, uint64_t offset) {
  auto fd = open_regular_file(log);
  if (!fd) return fd.error().kind() == ErrorKind::not_found ? Result<uint64_t>(offset) : fail(fd.error());
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::pread(*fd, buf, sizeof buf, static_cast<off_t>(offset));
    if (n <= 0) break;
    std::fwrite(buf, 1, static_cast<size_t>(n), stdout);
    offset += static_cast<uint64_t>(n);
  }
  std::fflush(stdout);
  ::close(*fd);
  return offset;
}

Status run_logs(const RunsFlags& flags) {
  auto queue = open_queue(flags);
  if (!queue) return fail(queue.error());
  auto e = chosen_entry(*queue, flags.run);
  if (!e) return fail(e.error());
  const auto log = queue->log_path(e->name);
  auto offset = copy_log(log, 0);
  if (!offset) return fail(offset.error());
  if (!flags.follow) {
    if (*offset == 0) spdlog::info("{} has no log yet ({})", e->name, state_text(*e));
    return {};
  }
  // As `argo logs -f`: follow until the run has ended, then say how.
  for (;;) {
    auto entry = queue->read(e->name);
    if (!entry) return fail(entry.error());
    bool ended = entry->state != EntryState::queued && entry->state != EntryState::running;
    offset = copy_log(log, *offset);  // after the read: what the run wrote before it ended is all there
    if (!offset) return fail(offset.error());
    if (ended) {
      spdlog::info("{}: {}", e->name, state_text(*entry));
      return {};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

Status run_retry(const RunsFlags& flags) {
  auto queue = open_queue(flags);
  if (!queue) return fail(queue.error());
  auto e = chosen_entry(*queue, flags.run);
  if (!e) return fail(e.error());
  auto changed = retry_entry(*queue, e->name, now());
  if (!changed) return fail(changed.error());
  print_result_line(e->name + ": " + changed->detail);
  if (auto pid = queue->serve_pid())
    spdlog::info("sbpipe serve (pid {}) starts it when the runs before it have ended", *pid);
  else
    serve_note(*queue);
  return {};
}

Status run_cancel(const RunsFlags& flags) {
  auto queue = open_queue(flags);
  if (!queue) return fail(queue.error());
  auto e = chosen_entry(*queue, flags.run);
  if (!e) return fail(e.error());
  auto changed = cancel_entry(*queue, e->name, now(), signal_started_group);
  if (!changed) return fail(changed.error());
  print_result_line(e->name + ": " + changed->detail);
  return {};
}

void add_location_flags(CLI::App& cmd, RunsFlags& flags) {
  cmd.add_option("--state-dir", flags.state_dir, "The state directory (default: run.state_dir of --config, else the default)");
  cmd.add_option("--config", flags.config, "sbpipe YAML config; its run.state_dir is read")->envname("SBPIPE_CONFIG");
}

void add_run_argument(CLI::App& cmd, RunsFlags& flags) {
  cmd.add_option("RUN", flags.run, "The run: its name, its tag (the newest run of it) or @latest")->required();
}

}  // namespace

void add_runs(CLI::App& app, CommandAction& action) {
  CLI::App* runs = app.add_subcommand("runs", "The runs of serve --executor local: list, show, logs, retry, cancel");
  runs->require_subcommand(1);
  auto add = [&](const char* name, const char* description, Status (*run)(const RunsFlags&)) {
    auto flags = std::make_shared<RunsFlags>();
    CLI::App* cmd = runs->add_subcommand(name, description);
    add_location_flags(*cmd, *flags);
    cmd->callback([flags, run, &action] { action = [flags, run] { return run(*flags); }; });
    return std::make_pair(cmd, flags);
  };
  auto [list, list_flags] = add("list", "List the runs, newest first (name, tag, state, attempts, age, duration)", run_list);
  add_format_flag(*list, list_flags->format, {"text", "json", "yaml"}, "A table, or a document");
  auto [show, show_flags] = add("show", "Show one run: its release, state, times, journal steps and log file", run_show);
  add_run_argument(*show, *show_flags);
  add_format_flag(*show, show_flags->format, {"text", "json", "yaml"}, "Lines, or a document");
  auto [logs, logs_flags] = add("logs", "Print a run's log (all its attempts)", run_logs);
  add_run_argument(*logs, *logs_flags);
  logs->add_flag("-f,--follow", logs_flags->follow, "Follow the log until the run has ended");
  auto [retry, retry_flags] =
      add("retry", "Queue a failed, withdrawn or cancelled run again (it resumes from its journal)", run_retry);
  add_run_argument(*retry, *retry_flags);
  auto [cancel, cancel_flags] =
      add("cancel", "Take a queued run off the queue, or stop a running one (sbpipe run and imager)", run_cancel);
  add_run_argument(*cancel, *cancel_flags);
}

}  // namespace sbpipe

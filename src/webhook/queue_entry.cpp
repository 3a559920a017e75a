#include "webhook/queue_entry.h"

#include <ctime>

#include <nlohmann/json.hpp>

#include "webhook/event.h"

namespace sbpipe {
namespace {

using json = nlohmann::json;

constexpr std::string_view k_state_names[] = {"queued", "running", "done", "failed", "withdrawn", "cancelled"};

// Reads the fields of one JSON object, collecting the first problem: each
// accessor names the field and what it must be.
class Fields {
public:
  Fields(const json& object, std::string prefix) : m_object(object), m_prefix(std::move(prefix)) {}

  const json* find(const char* key) const {
    auto it = m_object.find(key);
    return it == m_object.end() || it->is_null() ? nullptr : &*it;
  }
  std::string text(const char* key, bool required) {
    const json* value = find(key);
    if (!value) {
      if (required) note(key, "is missing");
      return {};
    }
    if (!value->is_string()) return note(key, "must be a string"), std::string();
    return value->get<std::string>();
  }
  int64_t integer(const char* key, int64_t min, bool required) {
    const json* value = find(key);
    if (!value) {
      if (required) note(key, "is missing");
      return min;
    }
    if (!value->is_number_integer()) return note(key, "must be a whole number"), min;
    if (value->is_number_unsigned() && value->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
      return note(key, "is out of range"), min;
    int64_t n = value->get<int64_t>();
    if (n < min) return note(key, "must be at least " + std::to_string(min)), min;
    return n;
  }
  std::optional<UtcSeconds> time(const char* key) {
    std::string value = text(key, false);
    if (value.empty()) return std::nullopt;
    auto at = parse_utc_text(value);
    if (!at) note(key, "must be a UTC time such as 2026-12-06T01:19:44Z");
    return at;
  }
  std::optional<StopRecord> stop(const char* key) {
    const json* value = find(key);
    if (!value) return std::nullopt;
    if (!value->is_object()) return note(key, "must be an object"), std::nullopt;
    Fields inner(*value, m_prefix + key + ".");
    StopRecord record{inner.text("action", true), inner.text("delivery", false), {}};
    auto at = inner.time("at");
    if (!inner.m_problem.empty()) return m_problem = inner.m_problem, std::nullopt;
    if (at) record.at = *at;
    return record;
  }
  void note(std::string_view key, const std::string& problem) {
    if (m_problem.empty()) m_problem = m_prefix + std::string(key) + " " + problem;
  }
  const std::string& problem() const { return m_problem; }

private:
  const json& m_object;
  std::string m_prefix;
  std::string m_problem;
};

// The tag becomes a word of the child's command line (--tag TAG) and a
// directory name: letters, digits, '.', '_', '+', '-', not first a '-'.
bool valid_tag(std::string_view tag) {
  if (tag.empty() || tag.front() == '-' || tag == "." || tag == "..") return false;
  for (char c : tag)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '+' || c == '-')) return false;
  return true;
}

json stop_json(const StopRecord& record) {
  json out{{"action", record.action}, {"at", utc_text(record.at)}};
  if (!record.delivery.empty()) out["delivery"] = record.delivery;
  return out;
}

}  // namespace

std::string_view entry_state_name(EntryState state) { return k_state_names[static_cast<size_t>(state)]; }

std::optional<EntryState> parse_entry_state(std::string_view name) {
  for (size_t i = 0; i < std::size(k_state_names); ++i)
    if (k_state_names[i] == name) return static_cast<EntryState>(i);
  return std::nullopt;
}

bool entry_may_run_again(EntryState state) {
  return state == EntryState::failed || state == EntryState::withdrawn || state == EntryState::cancelled;
}

std::string queue_file_name(std::string_view name) { return std::string(name) + ".json"; }

std::string utc_text(UtcSeconds at) {
  std::time_t t = at.time_since_epoch().count();
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<UtcSeconds> parse_utc_text(std::string_view text) {
  std::string copy(text);
  std::tm tm{};
  const char* end = strptime(copy.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (end == nullptr || *end != '\0' || copy.size() != 20) return std::nullopt;
  return UtcSeconds(std::chrono::seconds(timegm(&tm)));
}

Result<QueueEntry> parse_queue_entry(std::string_view text, const std::string& file) {
  auto damaged = [&](const std::string& reason) { return fail(ErrorKind::invalid_input, file + ": " + reason); };
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded()) return damaged(text.empty() ? "empty" : "not JSON");
  if (!doc.is_object()) return damaged("not a JSON object");
  Fields f(doc, "");
  QueueEntry e;
  e.name = f.text("name", true);
  e.repo = f.text("repo", true);
  e.tag = f.text("tag", true);
  e.release_id = f.integer("release_id", 0, true);
  e.release_state = f.text("release_state", false);
  e.seq = f.integer("seq", 1, true);
  e.attempts = static_cast<int>(f.integer("attempts", 0, true));
  std::string state = f.text("state", true);
  e.delivery = f.text("delivery", false);
  e.action = f.text("action", false);
  e.accepted_at = f.time("accepted_at");
  e.started_at = f.time("started_at");
  e.finished_at = f.time("finished_at");
  e.withdrawn = f.stop("withdrawn");
  e.cancelled = f.stop("cancelled");
  if (f.find("exit_code")) e.exit_code = static_cast<int>(f.integer("exit_code", 0, true));
  e.error = f.text("error", false);
  if (f.find("pid")) {
    StartedChild child;
    child.pid = static_cast<pid_t>(f.integer("pid", 1, true));
    child.start_time = static_cast<uint64_t>(f.integer("pid_start_time", 0, false));
    e.child = child;
  }
  if (!f.problem().empty()) return damaged(f.problem());
  if (e.attempts > 1000000) return damaged("attempts is out of range");
  if (e.exit_code && (*e.exit_code < 0 || *e.exit_code > 255)) return damaged("exit_code must be 0 to 255");
  auto parsed_state = parse_entry_state(state);
  if (!parsed_state) return damaged("state '" + state + "' is not one of queued, running, done, failed, withdrawn, cancelled");
  e.state = *parsed_state;
  if (!is_repo_name(e.repo)) return damaged("repo '" + e.repo + "' is not OWNER/NAME");
  if (!valid_tag(e.tag)) return damaged("tag '" + e.tag + "' is not a version tag (letters, digits, . _ + -)");
  if (!e.release_state.empty() && e.release_state != "prerelease" && e.release_state != "draft")
    return damaged("release_state must be prerelease or draft");
  if (e.name != workflow_name(e.release()))
    return damaged("name '" + e.name + "' is not the one of " + e.repo + " " + e.tag + " release " +
                   std::to_string(e.release_id) + " (" + workflow_name(e.release()) + ")");
  auto slash = file.find_last_of('/');
  if (file.substr(slash == std::string::npos ? 0 : slash + 1) != queue_file_name(e.name))
    return damaged("holds the entry " + e.name + ", which belongs in " + queue_file_name(e.name));
  return e;
}

std::string queue_entry_text(const QueueEntry& e) {
  json out{{"name", e.name},
           {"repo", e.repo},
           {"tag", e.tag},
           {"release_id", e.release_id},
           {"seq", e.seq},
           {"attempts", e.attempts},
           {"state", std::string(entry_state_name(e.state))}};
  if (!e.release_state.empty()) out["release_state"] = e.release_state;
  if (!e.delivery.empty()) out["delivery"] = e.delivery;
  if (!e.action.empty()) out["action"] = e.action;
  if (e.accepted_at) out["accepted_at"] = utc_text(*e.accepted_at);
  if (e.started_at) out["started_at"] = utc_text(*e.started_at);
  if (e.finished_at) out["finished_at"] = utc_text(*e.finished_at);
  if (e.withdrawn) out["withdrawn"] = stop_json(*e.withdrawn);
  if (e.cancelled) out["cancelled"] = stop_json(*e.cancelled);
  if (e.exit_code) out["exit_code"] = *e.exit_code;
  if (!e.error.empty()) out["error"] = e.error;
  if (e.child) {
    out["pid"] = e.child->pid;
    if (e.child->start_time != 0) out["pid_start_time"] = e.child->start_time;
  }
  return out.dump(2) + "\n";
}

}  // namespace sbpipe

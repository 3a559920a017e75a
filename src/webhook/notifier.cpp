#include "webhook/notifier.h"

#include <spdlog/spdlog.h>

#include "core/file.h"
#include "core/redact.h"

namespace sbpipe {
namespace {

using json = nlohmann::json;

std::string event_of(EntryState state) {
  switch (state) {
  case EntryState::done: return "run.succeeded";
  case EntryState::withdrawn: return "run.withdrawn";
  case EntryState::cancelled: return "run.cancelled";
  default: return "run.failed";
  }
}

class WebhookNotifier final : public Notifier {
public:
  WebhookNotifier(std::string url, std::unique_ptr<HttpClient> http, Clock& clock)
      : m_url(std::move(url)), m_http(std::move(http)), m_clock(clock) {}

  void notify(const RunOutcome& outcome) override {
    std::string body = notification_json(outcome).dump(-1, ' ', false, json::error_handler_t::replace);
    std::string problem;
    for (int attempt = 1; attempt <= 3; ++attempt) {
      MemorySource source(body);
      HttpRequest request{.method = "POST",
                          .url = m_url,
                          .headers = {{"Content-Type", "application/json"}},
                          .body = &source,
                          .body_size = body.size()};
      auto response = m_http->send(request);
      if (response && response->status < 300) {
        spdlog::info("notified {} of {} ({})", redact(m_url), outcome.entry.name, event_of(outcome.entry.state));
        return;
      }
      bool again = response ? response->status >= 500 || response->status == 429 : response.error().retryable();
      problem = response ? "HTTP " + std::to_string(response->status) : response.error().message();
      if (!again || attempt == 3) break;
      m_clock.sleep_for(std::chrono::seconds(attempt));
    }
    spdlog::warn("notification for {} not delivered to {}: {}", outcome.entry.name, redact(m_url), redact(problem));
  }

private:
  std::string m_url;
  std::unique_ptr<HttpClient> m_http;
  Clock& m_clock;
};

}  // namespace

json notification_json(const RunOutcome& o) {
  const QueueEntry& e = o.entry;
  std::string event = event_of(e.state);
  std::string upgrade = o.installer.empty() ? "" : "talosctl upgrade --image " + o.installer;
  std::string text;
  switch (e.state) {
  case EntryState::done:
    text = "Talos " + e.tag + " for " + e.repo + " is released" + (o.release.empty() ? "" : ": " + o.release) +
           (upgrade.empty() ? "" : ". Upgrade with: " + upgrade);
    break;
  case EntryState::withdrawn: text = "The run of " + e.tag + " for " + e.repo + " was stopped: the release was withdrawn"; break;
  case EntryState::cancelled: text = "The run of " + e.tag + " for " + e.repo + " was cancelled (sbpipe runs cancel)"; break;
  default:
    text = "The run of " + e.tag + " for " + e.repo + " failed" +
           (o.last_step.empty() ? " before its first step" : " after step " + o.last_step) +
           (e.exit_code ? " (exit status " + std::to_string(*e.exit_code) + ")" : "") +
           "; nothing after that step was published; sbpipe runs logs " + e.name + ", then sbpipe runs retry " + e.name;
  }
  json doc{{"schemaVersion", 1},        {"event", event},         {"run", e.name}, {"repo", e.repo}, {"tag", e.tag},
           {"releaseId", e.release_id}, {"attempts", e.attempts}, {"text", text},  {"content", text}};
  doc["exitCode"] = e.exit_code ? json(*e.exit_code) : json();
  doc["installer"] = o.installer.empty() ? json() : json(o.installer);
  doc["upgrade"] = upgrade.empty() ? json() : json(upgrade);
  doc["release"] = o.release.empty() ? json() : json(o.release);
  doc["lastStep"] = o.last_step.empty() ? json() : json(o.last_step);
  return doc;
}

std::unique_ptr<Notifier> make_webhook_notifier(std::string url, std::unique_ptr<HttpClient> http, Clock& clock) {
  return std::make_unique<WebhookNotifier>(std::move(url), std::move(http), clock);
}

RunOutcome outcome_from_journal(const QueueEntry& entry, const std::filesystem::path& state_dir) {
  RunOutcome out{entry, "", "", ""};
  auto text = read_small_file(state_dir / entry.tag / "journal.json", 16 << 20);
  if (!text) return out;
  auto journal = nlohmann::ordered_json::parse(*text, nullptr, false);
  if (!journal.is_object() || !journal.contains("steps") || !journal["steps"].is_object()) return out;
  const auto& steps = journal["steps"];
  auto field = [&](const char* step, const char* key) -> std::string {
    if (!steps.contains(step) || !steps[step].is_object()) return "";
    auto it = steps[step].find(key);
    return it != steps[step].end() && it->is_string() ? it->get<std::string>() : "";
  };
  out.installer = field("push-installer", "ref");
  out.release = field("finalize", "release");
  // The journal records steps in the order they finished.
  for (const auto& [key, value] : steps.items()) out.last_step = key;
  return out;
}

}  // namespace sbpipe

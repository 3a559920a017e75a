#pragma once
// Telling a person how a local run ended: one HTTP POST of a JSON document
// to a URL the owner configured (serve.notify_url or serve.notify_url_file;
// the URL may hold a token, Slack's and ntfy's do, so it is registered for
// redaction), when a run of `serve --executor local` ends: succeeded,
// failed, withdrawn or cancelled. The document carries the `talosctl
// upgrade` line when an installer was pushed, and a `text` (Slack,
// Mattermost) and `content` (Discord) field with the same news in one
// line, so chat webhooks show it as is. A notification that cannot be
// delivered is logged; it never changes the run's outcome.

#include <filesystem>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "http/client.h"
#include "webhook/queue_entry.h"

namespace sbpipe {

// What a notification says about one ended run.
struct RunOutcome {
  QueueEntry entry;       // as it ended
  std::string installer;  // REGISTRY/REPO:TAG@sha256:... when the run pushed one; "" otherwise
  std::string release;    // the release's URL (or path) once finalized; "" otherwise
  std::string last_step;  // the last step the run's journal recorded; "" when none
};

// The document POSTed: {"schemaVersion":1,"event":"run.succeeded" |
// "run.failed" | "run.withdrawn" | "run.cancelled","run","repo","tag",
// "releaseId","attempts","exitCode","installer","upgrade","release",
// "lastStep","text","content"}.
nlohmann::json notification_json(const RunOutcome& outcome);

class Notifier {
public:
  virtual ~Notifier() = default;
  // Sends it; logs (never returns) a failure. Called from the executor's worker.
  virtual void notify(const RunOutcome& outcome) = 0;
};

// POSTs to `url` with retries on transport errors and 5xx (3 tries, 1 s
// then 2 s apart on `clock`), within 10 s each.
std::unique_ptr<Notifier> make_webhook_notifier(std::string url, std::unique_ptr<HttpClient> http, Clock& clock);

// The journal's facts for a notification: STATE/<tag>/journal.json's
// push-installer ref, finalize's release and the last step recorded; empty
// strings where there are none (or the journal cannot be read).
RunOutcome outcome_from_journal(const QueueEntry& entry, const std::filesystem::path& state_dir);

}  // namespace sbpipe

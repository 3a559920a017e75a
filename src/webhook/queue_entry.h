#pragma once
// One entry of the local executor's queue (webhook/local_executor.h): a
// release accepted for a `sbpipe run` on this machine, as a struct with one
// reader and one writer of its file, STATE/queue/<name>.json. The reader
// checks every field (type, range, the name against the release it is
// derived from, the tag as a command-line word), so an entry edited by
// hand, cut short, or written by another version is refused with the file
// and the field named, never half-read.
//
// The states, and what moves an entry between them:
//   queued    → running     the worker starts its run
//   running   → done        the run exited 0
//             → failed      it exited otherwise, or could not start
//             → withdrawn   the release was unpublished or deleted meanwhile
//             → cancelled   `sbpipe runs cancel` stopped it
//             → queued      serve stopped (or crashed) while it ran
//   queued    → withdrawn / cancelled  without running
//   failed, withdrawn, cancelled → queued   a redelivery, or `runs retry`
// done is final: a finished release is not built again.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/subprocess.h"
#include "kube/workflow.h"

namespace sbpipe {

enum class EntryState { queued, running, done, failed, withdrawn, cancelled };

// "queued", "running", ...; the word the file and `sbpipe runs` use.
std::string_view entry_state_name(EntryState state);
std::optional<EntryState> parse_entry_state(std::string_view name);
// Whether a redelivery or `runs retry` may queue an entry in this state again.
bool entry_may_run_again(EntryState state);

using UtcSeconds = std::chrono::sys_seconds;

// Why a run was stopped before its end, when it was: a withdrawal (the
// release's action, e.g. "unpublished", and its delivery) or a cancel
// (action "cancel", by `sbpipe runs cancel`; delivery empty).
struct StopRecord {
  std::string action;
  std::string delivery;
  UtcSeconds at{};
};

struct QueueEntry {
  std::string name;  // workflow_name(release()): the file's name without .json
  std::string repo;  // OWNER/NAME
  std::string tag;
  int64_t release_id = 0;
  std::string release_state;  // "prerelease", "draft", or "" (not pinned)
  int64_t seq = 0;            // order of first acceptance, from 1
  int attempts = 0;           // runs started
  EntryState state = EntryState::queued;
  std::string delivery;  // the delivery (or "runs retry") that queued it last
  std::string action;
  std::optional<UtcSeconds> accepted_at, started_at, finished_at;
  std::optional<StopRecord> withdrawn;  // set by a withdrawal, kept after it
  std::optional<StopRecord> cancelled;  // set by `runs cancel`, kept after it
  std::optional<int> exit_code;         // the last run's exit status
  std::string error;                    // why the last run could not start
  // While running: the child `sbpipe run` (the id of its process group),
  // so that `sbpipe runs cancel` in another process can stop it.
  std::optional<StartedChild> child;

  ReleaseRef release() const { return ReleaseRef{repo, tag, release_id, release_state}; }
};

// The "<name>.json" file of an entry named `name`.
std::string queue_file_name(std::string_view name);

// Parses an entry file's text. `file` is the file's path (named in every
// message, and its name must be "<entry name>.json"). invalid_input with
// "FILE: REASON" for anything that is not a whole, consistent entry.
Result<QueueEntry> parse_queue_entry(std::string_view text, const std::string& file);

// The entry's file text (JSON, 2-space indented, newline-terminated); what
// parse_queue_entry reads back unchanged.
std::string queue_entry_text(const QueueEntry& entry);

// "2026-12-06T01:19:44Z"; the parser accepts exactly this form.
std::string utc_text(UtcSeconds at);
std::optional<UtcSeconds> parse_utc_text(std::string_view text);

}  // namespace sbpipe

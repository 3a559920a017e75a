#include "webhook/queue_control.h"

#include <signal.h>

namespace sbpipe {

Result<QueueChange> retry_entry(const RunQueue& queue, const std::string& name, UtcSeconds now) {
  auto lock = queue.lock();
  if (!lock) return fail(lock.error());
  auto entry = queue.read(name);
  if (!entry) return fail(entry.error());
  if (entry->state == EntryState::done)
    return fail(ErrorKind::conflict, name + " is done: a finished release is not built again (to build " + entry->tag +
                                         " anew by hand: sbpipe run --tag " + entry->tag + " --restart)");
  if (!entry_may_run_again(entry->state))
    return fail(ErrorKind::conflict, name + " is " + std::string(entry_state_name(entry->state)) + " already");
  std::string was(entry_state_name(entry->state));
  entry->state = EntryState::queued;
  entry->withdrawn.reset();
  entry->cancelled.reset();
  entry->delivery.clear();
  entry->action = "retry";
  entry->accepted_at = now;
  if (auto st = queue.write(*entry); !st) return fail(st.error());
  return QueueChange{*entry, "queued again (it was " + was + "; attempts so far: " + std::to_string(entry->attempts) + ")"};
}

Result<QueueChange> cancel_entry(const RunQueue& queue, const std::string& name, UtcSeconds now, const GroupSignaller& signal) {
  auto lock = queue.lock();
  if (!lock) return fail(lock.error());
  auto entry = queue.read(name);
  if (!entry) return fail(entry.error());
  if (entry->state != EntryState::queued && entry->state != EntryState::running)
    return fail(ErrorKind::conflict, name + " is " + std::string(entry_state_name(entry->state)) + ": nothing to cancel");
  entry->cancelled = StopRecord{"cancel", "", now};
  std::string detail;
  if (entry->state == EntryState::queued) {
    entry->state = EntryState::cancelled;
    entry->finished_at = now;
    detail = "taken off the queue; it will not run";
  } else if (entry->child && signal(*entry->child, SIGTERM)) {
    detail = "stopping its run: SIGTERM sent to process group " + std::to_string(entry->child->pid) +
             " (sbpipe run and imager); serve records it cancelled when it has stopped";
  } else if (!queue.serve_pid()) {
    // No serve works the queue and the run is gone: serve was killed, and
    // its next start would otherwise run the entry again.
    entry->state = EntryState::cancelled;
    entry->finished_at = now;
    entry->child.reset();
    detail = "marked cancelled (its run had ended and no serve works the queue)";
  } else {
    detail = "marked cancelled; serve stops its run as soon as it has started";
  }
  if (auto st = queue.write(*entry); !st) return fail(st.error());
  return QueueChange{*entry, detail};
}

}  // namespace sbpipe

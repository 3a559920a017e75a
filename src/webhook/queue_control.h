#pragma once
// What `sbpipe runs retry` and `sbpipe runs cancel` do to one entry of the
// local executor's queue (webhook/run_queue.h), from any process, each
// under the queue's lock so that serve and the command never interleave.
// serve need not run: a retried entry waits for it, a cancelled one is
// never started.

#include <functional>
#include <string>

#include "core/error.h"
#include "webhook/run_queue.h"

namespace sbpipe {

// Sends a signal to a started child's process group, if that child still
// runs (core/subprocess.h signal_started_group in real use).
using GroupSignaller = std::function<bool(const StartedChild& child, int signal)>;

struct QueueChange {
  QueueEntry entry;    // as written
  std::string detail;  // what happened, for the person who asked
};

// Queues a failed, withdrawn or cancelled entry again (its attempts kept,
// its stop marks cleared; delivery "" and action "retry"). conflict when it
// is queued or running already, or done (a finished release is not built
// again: `sbpipe run --tag TAG --restart` builds it anew by hand).
Result<QueueChange> retry_entry(const RunQueue& queue, const std::string& name, UtcSeconds now);

// Cancels a queued entry (it never runs) or a running one: the entry is
// marked cancelled first, then its recorded child's process group gets
// SIGTERM through `signal` (serve ends the entry "cancelled" when the run
// has stopped; a run whose child was not recorded yet is stopped by serve
// as soon as it is). A running entry that no serve works any more (serve
// was killed) and whose child has ended is set cancelled at once. conflict
// for an entry that has ended already.
Result<QueueChange> cancel_entry(const RunQueue& queue, const std::string& name, UtcSeconds now, const GroupSignaller& signal);

}  // namespace sbpipe

#pragma once
// The local executor's queue on disk, shared by `sbpipe serve --executor
// local` (webhook/local_executor.h) and `sbpipe runs` in other processes:
//   STATE/queue/<name>.json   one entry per release (webhook/queue_entry.h),
//                             each written atomically, mode 0600
//   STATE/queue/.lock         taken around every change of an entry, by
//                             every process, so changes never interleave
//   STATE/queue/.serve        held by the one serve working this queue,
//                             with its pid
//   STATE/queue/damaged/      entries that could not be read, moved here
//                             whole (kept for the owner, never deleted)
//   STATE/logs/<name>.log     each entry's run log
// Reading needs no lock: every write replaces a whole file.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/file_lock.h"
#include "webhook/queue_entry.h"

namespace sbpipe {

enum class OnDamage { move_aside, report };

// An entry file that could not be read.
struct DamagedEntry {
  std::filesystem::path file;      // where it was found
  std::string reason;              // parse_queue_entry's message (names the file)
  std::filesystem::path moved_to;  // where it is now; empty when left in place
};

struct QueueContents {
  std::vector<QueueEntry> entries;  // by seq, oldest first
  std::vector<DamagedEntry> damaged;
};

class RunQueue {
public:
  // The queue of the state directory `state_dir`. Creates STATE/queue and
  // STATE/logs (0700) when asked; otherwise a missing queue is an empty
  // one. io errors name the directory.
  enum class Create { yes, no };
  static Result<RunQueue> open(const std::filesystem::path& state_dir, Create create);

  const std::filesystem::path& state_dir() const { return m_state_dir; }
  std::filesystem::path queue_dir() const { return m_state_dir / "queue"; }
  std::filesystem::path entry_path(const std::string& name) const;
  std::filesystem::path log_path(const std::string& name) const;

  // The change lock (waits for it). Hold it from reading an entry to
  // writing it back.
  Result<FileLock> lock() const;
  // Claims the queue for this serve for as long as the lock lives;
  // conflict "another sbpipe serve (pid N) works the queue in DIR" when one
  // does.
  Result<FileLock> claim_for_serve() const;
  // The pid of the serve working this queue now; nullopt when none.
  std::optional<pid_t> serve_pid() const;

  // Every entry, oldest first. An entry that cannot be read is reported in
  // `damaged` and, with move_aside (REQUIRES: lock() held), moved to
  // STATE/queue/damaged/ under a name no earlier one has. io error only
  // when the directory itself cannot be read.
  Result<QueueContents> load(OnDamage on_damage) const;
  // One entry; not_found when there is none of that name, invalid_input
  // when it is damaged.
  Result<QueueEntry> read(const std::string& name) const;
  // Writes the entry (atomically, flushed, 0600). An entry that would not
  // read back (a tag that is no command-line word, say) is refused,
  // invalid_input, and nothing is written.
  Status write(const QueueEntry& entry) const;

private:
  explicit RunQueue(std::filesystem::path state_dir) : m_state_dir(std::move(state_dir)) {}
  std::filesystem::path m_state_dir;
};

// The entry `selector` names among `entries`: its name, its tag (when one
// entry has it, else the newest of them), or "@latest" (the newest
// accepted). not_found naming what was asked and what exists.
Result<QueueEntry> select_entry(const std::vector<QueueEntry>& entries, const std::string& selector);

}  // namespace sbpipe

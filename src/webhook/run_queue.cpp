#include "webhook/run_queue.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "core/file.h"

namespace sbpipe {
namespace fs = std::filesystem;

namespace {

// An entry name as a file name: what workflow_name() makes ([a-z0-9-]).
bool plain_name(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(),
                                      [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

// A name in `dir` that does not exist yet: FILE, else FILE.2, FILE.3, ...
fs::path unused_name(const fs::path& dir, const std::string& file) {
  fs::path candidate = dir / file;
  std::error_code ec;
  for (int n = 2; fs::exists(candidate, ec) || fs::is_symlink(candidate, ec); ++n)
    candidate = dir / (file + "." + std::to_string(n));
  return candidate;
}

}  // namespace

Result<RunQueue> RunQueue::open(const fs::path& state_dir, Create create) {
  RunQueue queue(fs::absolute(state_dir));
  if (create == Create::yes)
    for (const char* sub : {"queue", "logs"})
      if (auto st = create_private_directories(queue.m_state_dir / sub); !st) return fail(st.error());
  return queue;
}

fs::path RunQueue::entry_path(const std::string& name) const { return queue_dir() / queue_file_name(name); }

fs::path RunQueue::log_path(const std::string& name) const { return m_state_dir / "logs" / (name + ".log"); }

Result<FileLock> RunQueue::lock() const { return FileLock::take(queue_dir() / ".lock", LockWait::block); }

Result<FileLock> RunQueue::claim_for_serve() const {
  auto path = queue_dir() / ".serve";
  // `sbpipe runs` looks at the claim with a shared lock for an instant
  // (serve_pid); a claim that meets that look tries again.
  for (int attempt = 0;; ++attempt) {
    auto claim = FileLock::take(path, LockWait::no_wait, LockOwner::record_pid);
    if (claim || claim.error().kind() != ErrorKind::conflict) return claim;
    if (auto pid = FileLock::holder(path); pid || attempt == 20)
      return fail(ErrorKind::conflict, "another sbpipe serve" + (pid ? " (pid " + std::to_string(*pid) + ")" : std::string()) +
                                           " works the queue in " + queue_dir().string());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::optional<pid_t> RunQueue::serve_pid() const { return FileLock::holder(queue_dir() / ".serve"); }

Result<QueueContents> RunQueue::load(OnDamage on_damage) const {
  QueueContents out;
  std::error_code ec;
  fs::directory_iterator it(queue_dir(), ec);
  if (ec == std::errc::no_such_file_or_directory) return out;
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const fs::path& file = it->path();
    // Dot files are the locks and a write's temporary file (".NAME.json.sbpipe-N").
    if (file.extension() != ".json" || file.filename().string().front() == '.') continue;
    auto text = read_small_file(file);
    auto entry = text ? parse_queue_entry(*text, file.string()) : Result<QueueEntry>(fail(text.error()));
    if (entry) {
      out.entries.push_back(std::move(*entry));
      continue;
    }
    DamagedEntry damaged{file, entry.error().message(), {}};
    if (on_damage == OnDamage::move_aside) {
      auto dir = queue_dir() / "damaged";
      auto target = unused_name(dir, file.filename().string());
      std::error_code move_ec;
      if (auto st = create_private_directories(dir); st) fs::rename(file, target, move_ec);
      if (!move_ec && fs::exists(target, move_ec)) damaged.moved_to = target;
    }
    out.damaged.push_back(std::move(damaged));
  }
  if (ec) return fail(ErrorKind::io, queue_dir().string() + ": " + ec.message());
  std::sort(out.entries.begin(), out.entries.end(),
            [](const QueueEntry& a, const QueueEntry& b) { return a.seq != b.seq ? a.seq < b.seq : a.name < b.name; });
  return out;
}

Result<QueueEntry> RunQueue::read(const std::string& name) const {
  if (!plain_name(name)) return fail(ErrorKind::not_found, "no run named '" + name + "'");
  auto path = entry_path(name);
  auto text = read_small_file(path);
  if (!text) {
    if (text.error().kind() == ErrorKind::not_found) return fail(ErrorKind::not_found, "no run named " + name);
    return fail(Error(ErrorKind::invalid_input, text.error().message()));
  }
  return parse_queue_entry(*text, path.string());
}

Status RunQueue::write(const QueueEntry& entry) const {
  auto path = entry_path(entry.name);
  std::string text = queue_entry_text(entry);
  if (auto back = parse_queue_entry(text, path.string()); !back)
    return fail(ErrorKind::invalid_input, "queue: not written: " + back.error().message());
  return write_file_atomically(path, text, 0600);
}

Result<QueueEntry> select_entry(const std::vector<QueueEntry>& entries, const std::string& selector) {
  const QueueEntry* found = nullptr;
  for (const auto& e : entries) {
    bool match = selector == "@latest" || e.name == selector || e.tag == selector;
    if (match && (!found || e.name == selector || e.seq > found->seq)) found = &e;
    if (match && e.name == selector) break;
  }
  if (found) return *found;
  if (entries.empty()) return fail(ErrorKind::not_found, "no run '" + selector + "': the queue is empty");
  std::string known;
  for (size_t i = entries.size(); i-- > 0 && entries.size() - i <= 5;) known += (known.empty() ? "" : ", ") + entries[i].name;
  return fail(ErrorKind::not_found, "no run '" + selector + "' (a name, a tag or @latest; newest: " + known + ")");
}

}  // namespace sbpipe

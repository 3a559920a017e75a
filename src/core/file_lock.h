#pragma once
// An exclusive lock on a file (flock(2)), held while the object lives and
// released when it is destroyed or the process ends (a crash cannot leave
// it held). The descriptor is close-on-exec: children never inherit it.

#include <sys/types.h>
#include <filesystem>
#include <optional>

#include "core/error.h"

namespace sbpipe {

enum class LockWait { block, no_wait };
enum class LockOwner { anonymous, record_pid };

class FileLock {
public:
  // Opens (creating, 0600) `path` and locks it. With record_pid the file
  // then holds this process's pid, which holder() and the conflict message
  // name. no_wait: a lock held elsewhere is a conflict error "PATH is held
  // by pid N" (without the pid when none was recorded); io errors name the
  // path.
  static Result<FileLock> take(const std::filesystem::path& path, LockWait wait, LockOwner owner = LockOwner::anonymous);

  // The pid recorded in `path` while another holds its lock; nullopt when
  // the lock is free, the file is missing or no pid was recorded.
  static std::optional<pid_t> holder(const std::filesystem::path& path);

  FileLock(FileLock&& other) noexcept : m_fd(other.m_fd) { other.m_fd = -1; }
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

private:
  explicit FileLock(int fd) : m_fd(fd) {}
  int m_fd = -1;
};

}  // namespace sbpipe

#include "core/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

namespace sbpipe {
namespace {

std::optional<pid_t> recorded_pid(int fd) {
  char buf[32] = {};
  if (::pread(fd, buf, sizeof buf - 1, 0) <= 0) return std::nullopt;
  char* end = nullptr;
  long pid = std::strtol(buf, &end, 10);
  if (end == buf || pid <= 0) return std::nullopt;
  return static_cast<pid_t>(pid);
}

}  // namespace

Result<FileLock> FileLock::take(const std::filesystem::path& path, LockWait wait, LockOwner owner) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return fail(ErrorKind::io, path.string() + ": " + std::strerror(errno));
  int rc;
  do {
    rc = ::flock(fd, wait == LockWait::block ? LOCK_EX : LOCK_EX | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    int err = errno;
    auto pid = recorded_pid(fd);
    ::close(fd);
    if (err == EWOULDBLOCK)
      return fail(ErrorKind::conflict, path.string() + " is held" + (pid ? " by pid " + std::to_string(*pid) : std::string()));
    return fail(ErrorKind::io, path.string() + ": " + std::strerror(err));
  }
  if (owner == LockOwner::record_pid) {
    std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
      int err = errno;
      ::close(fd);
      return fail(ErrorKind::io, path.string() + ": cannot write: " + std::strerror(err));
    }
  }
  return FileLock(fd);
}

std::optional<pid_t> FileLock::holder(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::optional<pid_t> pid;
  if (::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK) pid = recorded_pid(fd);
  ::close(fd);  // also releases the shared lock when it was taken
  return pid;
}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (m_fd >= 0) ::close(m_fd);
    m_fd = other.m_fd;
    other.m_fd = -1;
  }
  return *this;
}

FileLock::~FileLock() {
  if (m_fd >= 0) ::close(m_fd);
}

}  // namespace sbpipe

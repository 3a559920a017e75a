#include "core/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <vector>

#include "core/redact.h"

namespace sbpipe {
namespace {

std::string errno_text() { return std::strerror(errno); }

class FileSource final : public ByteSource {
public:
  FileSource(int fd, uint64_t offset, uint64_t length) : m_fd(fd), m_offset(offset), m_left(length) {}
  ~FileSource() override { ::close(m_fd); }

  Result<size_t> read(std::span<char> buffer) override {
    size_t want = static_cast<size_t>(std::min<uint64_t>(buffer.size(), m_left));
    if (want == 0) return 0;
    ssize_t n;
    do {
      n = ::pread(m_fd, buffer.data(), want, static_cast<off_t>(m_offset));
    } while (n < 0 && errno == EINTR);
    if (n < 0) return fail(ErrorKind::io, "read: " + errno_text());
    if (n == 0 && m_left != UINT64_MAX) return fail(ErrorKind::invalid_input, "file ends early (truncated)");
    m_offset += static_cast<uint64_t>(n);
    if (m_left != UINT64_MAX) m_left -= static_cast<uint64_t>(n);
    return static_cast<size_t>(n);
  }

private:
  int m_fd;
  uint64_t m_offset;
  uint64_t m_left;
};

const char* file_type_name(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISDIR(mode)) return "a directory";
  return "not a plain file";
}

}  // namespace

// O_NONBLOCK keeps open() itself from waiting for a writer when the path is
// a FIFO (F15); fstat on the opened descriptor (not stat on the name)
// decides, so a file swapped in between cannot slip through.
Result<int> open_regular_file(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    auto kind = errno == ENOENT ? ErrorKind::not_found : ErrorKind::io;
    return fail(kind, path.string() + ": " + errno_text());
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    auto text = errno_text();
    ::close(fd);
    return fail(ErrorKind::io, path.string() + ": " + text);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail(ErrorKind::invalid_input, path.string() + ": not a regular file (" + file_type_name(st.st_mode) + ")");
  }
  // Regular files never block; clear the flag so reads behave as usual.
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

namespace {

// "PATH: reason" → "reason" (the callers name the path themselves).
std::string reason_after_path(const std::string& message, const std::filesystem::path& path) {
  std::string prefix = path.string() + ": ";
  return message.starts_with(prefix) ? message.substr(prefix.size()) : message;
}

}  // namespace

Result<std::string> read_small_file(const std::filesystem::path& path, size_t max_bytes) {
  auto fd = open_regular_file(path);
  if (!fd) return fail(fd.error());
  FileSource source(*fd, 0, UINT64_MAX);
  auto data = read_all(source, max_bytes);
  if (!data) return fail(data.error().with_context(path.string()));
  return data;
}

Result<std::string> read_secret_file(const std::filesystem::path& path, std::string_view what) {
  auto data = read_small_file(path, 64 * 1024);
  if (!data) {
    std::string reason = data.error().kind() == ErrorKind::not_found ? "no such file"
                         : data.error().kind() == ErrorKind::io      ? "unreadable"
                                                                     : reason_after_path(data.error().message(), path);
    return fail(ErrorKind::config, std::string(what) + " file " + path.string() + ": cannot read (" + reason + ")");
  }
  std::string value = std::move(*data);
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  if (value.empty()) return fail(ErrorKind::config, std::string(what) + " file " + path.string() + " is empty");
  register_secret(value);
  return value;
}

SourceOpener file_opener(std::filesystem::path path, uint64_t offset, uint64_t length) {
  return [path = std::move(path), offset, length]() -> Result<std::unique_ptr<ByteSource>> {
    auto fd = open_regular_file(path);
    if (!fd) return fail(fd.error());
    return std::make_unique<FileSource>(*fd, offset, length);
  };
}

Result<uint64_t> write_atomically(const std::filesystem::path& path, ByteSource& source, mode_t mode) {
  auto dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  std::filesystem::path tmp;
  int fd = -1;
  std::random_device random;
  for (int i = 0; i < 16 && fd < 0; ++i) {
    tmp = dir / ("." + path.filename().string() + ".sbpipe-" + std::to_string(random() % 1000000000u));
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) return fail(ErrorKind::io, path.string() + ": cannot create a file beside it: " + errno_text());
  auto failed = [&](Error error) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return fail(std::move(error));
  };
  uint64_t written = 0;
  auto st = drain(source, [&](std::span<const char> chunk) -> Status {
    while (!chunk.empty()) {
      ssize_t n = ::write(fd, chunk.data(), chunk.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail(ErrorKind::io, path.string() + ": write: " + errno_text());
      chunk = chunk.subspan(static_cast<size_t>(n));
      written += static_cast<uint64_t>(n);
    }
    return {};
  });
  if (!st) return failed(st.error());
  if (::fchmod(fd, mode) != 0 || ::fsync(fd) != 0) return failed(Error(ErrorKind::io, path.string() + ": " + errno_text()));
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return fail(ErrorKind::io, path.string() + ": close: " + errno_text());
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    auto text = errno_text();
    ::unlink(tmp.c_str());
    return fail(ErrorKind::io, path.string() + ": rename: " + text);
  }
  if (int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return written;
}

Status write_file_atomically(const std::filesystem::path& path, const std::string& content, mode_t mode) {
  MemorySource source(content);
  auto written = write_atomically(path, source, mode);
  if (!written) return fail(written.error());
  return {};
}

Status create_private_directories(const std::filesystem::path& dir) {
  // Only what is made here becomes 0700: a directory that exists (a shared
  // state_dir the owner set up, or /srv itself) keeps its mode (issue 30).
  std::vector<std::filesystem::path> missing;
  std::error_code ec;
  for (auto p = dir; !p.empty() && !std::filesystem::exists(p, ec); p = p.parent_path()) {
    missing.push_back(p);
    if (p == p.parent_path()) break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0700) == 0) {
      if (::chmod(it->c_str(), 0700) != 0)  // against a umask that takes owner bits
        return fail(ErrorKind::io, it->string() + ": cannot make private: " + std::strerror(errno));
    } else if (errno != EEXIST) {
      return fail(ErrorKind::io, it->string() + ": cannot create: " + std::strerror(errno));
    }
  }
  if (!std::filesystem::is_directory(dir, ec)) return fail(ErrorKind::io, dir.string() + ": cannot create: not a directory");
  return {};
}

}  // namespace sbpipe

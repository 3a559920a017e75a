#include "core/random_access.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sbpipe {
namespace {

class FileRandomAccess final : public RandomAccess {
public:
  FileRandomAccess(int fd, uint64_t size) : m_fd(fd), m_size(size) {}
  ~FileRandomAccess() override { ::close(m_fd); }
  FileRandomAccess(const FileRandomAccess&) = delete;
  FileRandomAccess& operator=(const FileRandomAccess&) = delete;

  uint64_t size() const override { return m_size; }

  Status read_at(uint64_t offset, std::span<char> buffer) const override {
    if (!range_fits(offset, buffer.size(), m_size)) return fail(ErrorKind::invalid_input, "read past the end of the file");
    size_t done = 0;
    while (done < buffer.size()) {
      ssize_t n = ::pread(m_fd, buffer.data() + done, buffer.size() - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail(ErrorKind::io, std::string("read: ") + std::strerror(errno));
      if (n == 0) return fail(ErrorKind::invalid_input, "file shrank while being read");
      done += static_cast<size_t>(n);
    }
    return {};
  }

private:
  int m_fd;
  uint64_t m_size;
};

}  // namespace

Status MemoryRandomAccess::read_at(uint64_t offset, std::span<char> buffer) const {
  if (!range_fits(offset, buffer.size(), m_bytes.size())) return fail(ErrorKind::invalid_input, "read past the end of the data");
  std::memcpy(buffer.data(), m_bytes.data() + offset, buffer.size());
  return {};
}

Result<std::unique_ptr<RandomAccess>> open_random_access(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(errno == ENOENT ? ErrorKind::not_found : ErrorKind::io, path.string() + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail(ErrorKind::invalid_input, path.string() + ": not a regular file");
  }
  return std::make_unique<FileRandomAccess>(fd, static_cast<uint64_t>(st.st_size));
}

}  // namespace sbpipe

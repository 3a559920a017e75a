#include "oci/tar_archive.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/file.h"
#include "core/go_path.h"
#include "oci/tar_reader.h"

namespace sbpipe {
namespace {

// An open file read forward, which can also skip ahead by seeking.
class SeekableFile final : public ByteSource {
public:
  explicit SeekableFile(int fd) : m_fd(fd) {}
  ~SeekableFile() override { ::close(m_fd); }
  SeekableFile(const SeekableFile&) = delete;
  SeekableFile& operator=(const SeekableFile&) = delete;

  Result<size_t> read(std::span<char> buffer) override {
    for (;;) {
      ssize_t n = ::read(m_fd, buffer.data(), buffer.size());
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return fail(ErrorKind::io, std::string("read: ") + std::strerror(errno));
    }
  }
  Result<uint64_t> skip(uint64_t n) {
    off_t here = ::lseek(m_fd, 0, SEEK_CUR);
    off_t end = ::lseek(m_fd, 0, SEEK_END);
    if (here < 0 || end < 0) return fail(ErrorKind::io, std::string("seek: ") + std::strerror(errno));
    uint64_t step = std::min<uint64_t>(n, static_cast<uint64_t>(end - here));
    if (::lseek(m_fd, here + static_cast<off_t>(step), SEEK_SET) < 0)
      return fail(ErrorKind::io, std::string("seek: ") + std::strerror(errno));
    return step;
  }

private:
  int m_fd;
};

// The member's bytes: `size` of them from `offset` of the decoded stream.
class MemberSource final : public ByteSource {
public:
  MemberSource(std::unique_ptr<ByteSource> stream, uint64_t size, std::string label)
      : m_stream(std::move(stream)), m_left(size), m_label(std::move(label)) {}
  Result<size_t> read(std::span<char> buffer) override {
    if (m_left == 0) return size_t{0};
    auto n = m_stream->read(buffer.first(static_cast<size_t>(std::min<uint64_t>(buffer.size(), m_left))));
    if (!n) return fail(n.error().with_context(m_label));
    if (*n == 0) return fail(ErrorKind::invalid_input, m_label + ": the archive ends inside this member");
    m_left -= *n;
    return n;
  }

private:
  std::unique_ptr<ByteSource> m_stream;
  uint64_t m_left;
  std::string m_label;
};

Result<std::unique_ptr<SeekableFile>> open_file(const std::filesystem::path& path) {
  auto fd = open_regular_file(path);
  if (!fd) return fail(fd.error());
  return std::make_unique<SeekableFile>(*fd);
}

}  // namespace

std::string normalize_member_name(std::string_view name) {
  std::string clean = go_clean(name);
  size_t slashes = clean.find_first_not_of('/');
  return slashes == std::string::npos ? std::string() : clean.substr(slashes);
}

Result<TarArchive> TarArchive::open(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return fail(ErrorKind::invalid_input, path.string() + ": is a directory, not a tar archive");
  auto file = open_file(path);
  if (!file) return fail(file.error());
  TarArchive archive;
  archive.m_path = path;
  char head[4] = {};
  auto got = (*file)->read(std::span<char>(head, sizeof head));
  if (!got) return fail(got.error().with_context(path.string()));
  archive.m_encoding = sniff_encoding(std::span<const char>(head, *got));
  auto reopened = open_file(path);
  if (!reopened) return fail(reopened.error());
  SeekableFile* seekable = reopened->get();
  std::unique_ptr<ByteSource> stream = std::move(*reopened);
  TarReader::Skipper skip;
  if (archive.m_encoding == Encoding::none)
    skip = [seekable](uint64_t n) { return seekable->skip(n); };
  else
    stream = make_decoding_source(std::move(stream), archive.m_encoding);
  TarReader reader(*stream, path.string(), skip);
  // Members of each name seen so far, of any type. A map keeps the index
  // linear in the member count (F10: 10^5 members were quadratic).
  std::unordered_map<std::string, int> seen;
  size_t members = 0;
  for (;;) {
    auto header = reader.next();
    if (!header) return fail(header.error());
    if (!*header) break;
    ++members;
    const TarHeader& h = **header;
    TarEntry item;
    item.name = normalize_member_name(h.name);
    item.ordinal = ++seen[item.name];
    if (h.typeflag == '1') {
      item.link_target = normalize_member_name(h.linkname);
    } else if (h.typeflag == '2') {
      item.link_target = normalize_member_name(go_join(go_dir(item.name), h.linkname));
    } else if (h.typeflag != '0' || h.sparse) {
      continue;
    }
    item.size = h.data_size;
    item.data_offset = h.data_offset;
    archive.m_last_by_name[item.name] = archive.m_entries.size();  // the last one wins, as on extraction
    archive.m_entries.push_back(std::move(item));
  }
  if (archive.m_entries.empty())
    return fail(ErrorKind::invalid_input,
                path.string() + (members == 0 ? ": not a tar archive, or an empty one" : ": no regular file in the tar archive"));
  return archive;
}

const TarEntry* TarArchive::find(std::string_view name) const {
  std::string wanted = normalize_member_name(name);
  for (int hops = 0; hops < 8; ++hops) {
    auto it = m_last_by_name.find(wanted);
    if (it == m_last_by_name.end()) return nullptr;
    const TarEntry* found = &m_entries[it->second];
    if (found->link_target.empty()) return found;
    wanted = found->link_target;
  }
  return nullptr;
}

SourceOpener TarArchive::opener(const TarEntry& entry) const {
  return [path = m_path, encoding = m_encoding, name = entry.name, offset = entry.data_offset,
          size = entry.size]() -> Result<std::unique_ptr<ByteSource>> {
    std::string label = path.string() + ": " + name;
    auto file = open_file(path);
    if (!file) return fail(file.error());
    if (encoding == Encoding::none) {
      if (auto skipped = (*file)->skip(offset); !skipped || *skipped != offset)
        return fail(ErrorKind::invalid_input, label + ": member vanished from the archive");
      return std::make_unique<MemberSource>(std::move(*file), size, label);
    }
    // A compressed tarball: decode again up to the member.
    auto stream = make_decoding_source(std::move(*file), encoding);
    std::string sink(k_stream_chunk, '\0');
    for (uint64_t left = offset; left > 0;) {
      auto n = stream->read(std::span<char>(sink.data(), static_cast<size_t>(std::min<uint64_t>(left, sink.size()))));
      if (!n) return fail(n.error().with_context(label));
      if (*n == 0) return fail(ErrorKind::invalid_input, label + ": member vanished from the archive");
      left -= *n;
    }
    return std::make_unique<MemberSource>(std::move(stream), size, label);
  };
}

Result<std::string> TarArchive::read_small(const TarEntry& entry, size_t max_bytes) const {
  if (entry.size > max_bytes)
    return fail(ErrorKind::invalid_input, m_path.string() + ": " + entry.name + " is too large for a metadata file");
  auto source = opener(entry)();
  if (!source) return fail(source.error());
  return read_all(**source, max_bytes);
}

}  // namespace sbpipe

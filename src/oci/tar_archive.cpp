// The libarchive adapter: the only file that includes archive.h for tar.

#include "oci/tar_archive.h"

#include "core/file.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <unordered_map>
#include <vector>

namespace sbpipe {
namespace {

constexpr size_t k_block = 1 << 20;

// One libarchive reader over an open file, with read/seek/skip callbacks so
// that libarchive can skip member data without reading it.
class Reader {
public:
  Reader() : m_buffer(k_block) { m_archive = archive_read_new(); }
  ~Reader() {
    archive_read_free(m_archive);
    if (m_fd >= 0) ::close(m_fd);
  }
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  Status open(const std::filesystem::path& path) {
    auto fd = open_regular_file(path);
    if (!fd) return fail(fd.error());
    m_fd = *fd;
    archive_read_support_format_tar(m_archive);
    archive_read_support_format_gnutar(m_archive);
    archive_read_support_filter_gzip(m_archive);
    archive_read_support_filter_zstd(m_archive);
    archive_read_set_callback_data(m_archive, this);
    archive_read_set_read_callback(m_archive, &Reader::on_read);
    archive_read_set_seek_callback(m_archive, &Reader::on_seek);
    archive_read_set_skip_callback(m_archive, &Reader::on_skip);
    if (archive_read_open1(m_archive) != ARCHIVE_OK) return fail(ErrorKind::invalid_input, path.string() + ": " + error_text());
    return {};
  }

  // ARCHIVE_OK with an entry, ARCHIVE_EOF at the end, else an error.
  Result<archive_entry*> next() {
    archive_entry* entry = nullptr;
    int rc = archive_read_next_header(m_archive, &entry);
    if (rc == ARCHIVE_EOF) return nullptr;
    if (rc < ARCHIVE_WARN) return fail(ErrorKind::invalid_input, error_text());
    return entry;
  }

  Result<size_t> read_data(std::span<char> buffer) {
    la_ssize_t n = archive_read_data(m_archive, buffer.data(), buffer.size());
    if (n < 0) return fail(ErrorKind::invalid_input, error_text());
    return static_cast<size_t>(n);
  }

  std::string error_text() {
    const char* e = archive_error_string(m_archive);
    std::string text = e ? e : "unreadable archive";
    if (text.find("Unrecognized archive format") != std::string::npos) return "not a tar archive";
    return text;
  }

private:
  static la_ssize_t on_read(struct archive*, void* self_ptr, const void** out) {
    auto* self = static_cast<Reader*>(self_ptr);
    ssize_t n;
    do {
      n = ::read(self->m_fd, self->m_buffer.data(), self->m_buffer.size());
    } while (n < 0 && errno == EINTR);
    *out = self->m_buffer.data();
    return n;
  }
  static la_int64_t on_seek(struct archive*, void* self_ptr, la_int64_t offset, int whence) {
    return ::lseek(static_cast<Reader*>(self_ptr)->m_fd, offset, whence);
  }
  static la_int64_t on_skip(struct archive*, void* self_ptr, la_int64_t request) {
    auto* self = static_cast<Reader*>(self_ptr);
    off_t here = ::lseek(self->m_fd, 0, SEEK_CUR);
    off_t end = ::lseek(self->m_fd, 0, SEEK_END);
    if (here < 0 || end < 0) return 0;
    la_int64_t step = std::min<la_int64_t>(request, end - here);
    ::lseek(self->m_fd, here + step, SEEK_SET);
    return step;
  }

  struct archive* m_archive = nullptr;
  int m_fd = -1;
  std::vector<char> m_buffer;
};

// Streams one member: a fresh reader positioned at its data.
class MemberSource final : public ByteSource {
public:
  MemberSource(std::unique_ptr<Reader> reader, std::string label) : m_reader(std::move(reader)), m_label(std::move(label)) {}
  Result<size_t> read(std::span<char> buffer) override {
    auto n = m_reader->read_data(buffer);
    if (!n) return fail(n.error().with_context(m_label));
    return n;
  }

private:
  std::unique_ptr<Reader> m_reader;
  std::string m_label;
};

}  // namespace

std::string normalize_member_name(std::string_view name) {
  while (name.starts_with("./")) name.remove_prefix(2);
  while (name.starts_with("/")) name.remove_prefix(1);
  return std::string(name);
}

Result<TarArchive> TarArchive::open(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return fail(ErrorKind::invalid_input, path.string() + ": is a directory, not a tar archive");
  Reader reader;
  if (auto st = reader.open(path); !st) return fail(st.error());
  TarArchive archive;
  archive.m_path = path;
  // Members of each name seen so far, of any type: opener() counts the
  // same way, so an ordinal names exactly one member. A map keeps the index
  // linear in the member count (F10: 10^5 members were quadratic).
  std::unordered_map<std::string, int> seen;
  for (;;) {
    auto entry = reader.next();
    if (!entry) return fail(entry.error().with_context(path.string()));
    if (*entry == nullptr) break;
    archive_entry* e = *entry;
    TarEntry item;
    item.name = normalize_member_name(archive_entry_pathname(e) ? archive_entry_pathname(e) : "");
    item.ordinal = ++seen[item.name];
    auto type = archive_entry_filetype(e);
    if (const char* hard = archive_entry_hardlink(e)) {
      item.link_target = normalize_member_name(hard);
    } else if (type == AE_IFLNK && archive_entry_symlink(e) != nullptr) {
      std::filesystem::path target = std::filesystem::path(item.name).parent_path() / archive_entry_symlink(e);
      item.link_target = normalize_member_name(target.lexically_normal().string());
    } else if (type != AE_IFREG) {
      continue;
    }
    item.size = static_cast<uint64_t>(archive_entry_size(e));
    archive.m_last_by_name[item.name] = archive.m_entries.size();  // the last one wins, as on extraction
    archive.m_entries.push_back(std::move(item));
  }
  if (archive.m_entries.empty()) return fail(ErrorKind::invalid_input, path.string() + ": not a tar archive, or an empty one");
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
  return [path = m_path, name = entry.name, ordinal = entry.ordinal]() -> Result<std::unique_ptr<ByteSource>> {
    auto reader = std::make_unique<Reader>();
    if (auto st = reader->open(path); !st) return fail(st.error());
    std::string label = path.string() + ": " + name;
    int seen = 0;
    for (;;) {
      auto e = reader->next();
      if (!e) return fail(e.error().with_context(path.string()));
      if (*e == nullptr) return fail(ErrorKind::invalid_input, label + ": member vanished from the archive");
      const char* member = archive_entry_pathname(*e);
      if (normalize_member_name(member ? member : "") == name && ++seen == ordinal)
        return std::make_unique<MemberSource>(std::move(reader), label);
    }
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

// The libarchive adapter for streamed archives (ISO images, image layers).

#include "iso/archive_walker.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/stream.h"
#include "oci/tar_archive.h"

namespace sbpipe {
namespace {}

ArchiveWalker::ArchiveWalker(std::unique_ptr<ByteSource> source, std::string label)
    : m_source(std::move(source)), m_label(std::move(label)), m_buffer(k_stream_chunk, '\0'), m_archive(archive_read_new()) {}

ArchiveWalker::~ArchiveWalker() { archive_read_free(m_archive); }

Result<std::unique_ptr<ArchiveWalker>> ArchiveWalker::open(std::unique_ptr<ByteSource> source, ArchiveFormat format,
                                                           std::string label) {
  std::unique_ptr<ArchiveWalker> walker(new ArchiveWalker(std::move(source), std::move(label)));
  archive* a = walker->m_archive;
  if (format == ArchiveFormat::iso9660) {
    archive_read_support_format_iso9660(a);
  } else {
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_zstd(a);
  }
  archive_read_set_callback_data(a, walker.get());
  archive_read_set_read_callback(a, &ArchiveWalker::on_read);
  if (archive_read_open1(a) != ARCHIVE_OK) {
    std::string what = format == ArchiveFormat::iso9660 ? "not an ISO 9660 image" : "not a tar archive";
    std::string detail = walker->error_text();
    if (detail.find("Unrecognized archive format") != std::string::npos || detail.empty()) detail = what;
    return fail(ErrorKind::invalid_input, walker->m_label + ": " + detail);
  }
  return walker;
}

long ArchiveWalker::on_read(struct archive*, void* self_ptr, const void** out) {
  auto* self = static_cast<ArchiveWalker*>(self_ptr);
  auto n = self->m_source->read(std::span<char>(self->m_buffer.data(), self->m_buffer.size()));
  if (!n) {
    self->m_source_error = n.error();
    return -1;
  }
  *out = self->m_buffer.data();
  return static_cast<long>(*n);
}

std::string ArchiveWalker::error_text() const {
  if (m_source_error) return m_source_error->message();
  const char* e = archive_error_string(m_archive);
  return e ? e : "damaged archive";
}

Result<std::optional<ArchiveMember>> ArchiveWalker::next() {
  archive_entry* entry = nullptr;
  int rc = archive_read_next_header(m_archive, &entry);
  if (rc == ARCHIVE_EOF) return std::optional<ArchiveMember>();
  if (rc < ARCHIVE_WARN) return fail(ErrorKind::invalid_input, m_label + ": " + error_text());
  ArchiveMember member;
  const char* name = archive_entry_pathname(entry);
  member.path = normalize_member_name(name ? name : "");
  member.size = static_cast<uint64_t>(archive_entry_size(entry));
  // A tar hardlink reports the type of its target (often AE_IFREG, size 0):
  // libarchive tells it by archive_entry_hardlink.
  if (const char* target = archive_entry_hardlink(entry)) {
    member.kind = MemberKind::hardlink;
    member.link_target = normalize_member_name(target);
  } else {
    switch (archive_entry_filetype(entry)) {
    case AE_IFREG: member.kind = MemberKind::regular; break;
    case AE_IFDIR: member.kind = MemberKind::directory; break;
    case AE_IFLNK:
      member.kind = MemberKind::symlink;
      if (const char* t = archive_entry_symlink(entry)) member.link_target = t;
      break;
    default: member.kind = MemberKind::other; break;
    }
  }
  member.regular = member.kind == MemberKind::regular;
  return std::optional<ArchiveMember>(std::move(member));
}

Result<size_t> ArchiveWalker::read(std::span<char> buffer) {
  la_ssize_t n = archive_read_data(m_archive, buffer.data(), buffer.size());
  if (n < 0) return fail(ErrorKind::invalid_input, m_label + ": " + error_text());
  return static_cast<size_t>(n);
}

Result<uint64_t> ArchiveWalker::copy_to(const std::filesystem::path& dest) {
  int fd = ::open(dest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return fail(ErrorKind::io, dest.string() + ": " + std::strerror(errno));
  // Not m_buffer: libarchive still points into that one.
  std::string chunk(k_stream_chunk, '\0');
  uint64_t total = 0;
  auto failed = [&](Error e) {
    ::close(fd);
    ::unlink(dest.c_str());
    return fail(std::move(e));
  };
  while (true) {
    auto n = read(std::span<char>(chunk.data(), chunk.size()));
    if (!n) return failed(n.error());
    if (*n == 0) break;
    size_t done = 0;
    while (done < *n) {
      ssize_t w = ::write(fd, chunk.data() + done, *n - done);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return failed(Error(ErrorKind::io, dest.string() + ": " + std::strerror(errno)));
      done += static_cast<size_t>(w);
    }
    total += *n;
  }
  if (::close(fd) != 0) {
    ::unlink(dest.c_str());
    return fail(ErrorKind::io, dest.string() + ": " + std::strerror(errno));
  }
  return total;
}

}  // namespace sbpipe

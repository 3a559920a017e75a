// The archive walk: libarchive for ISO 9660 (the only file that includes
// archive.h), oci/tar_reader.h for tar, behind one for_each.

#include "iso/archive_walker.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/go_path.h"
#include "oci/layer_codec.h"
#include "oci/tar_reader.h"

namespace sbpipe {
namespace {

std::string lookup_path(std::string_view name) {
  std::string path = go_clean(name);
  while (path.starts_with('/')) path.erase(0, 1);
  return path.empty() ? "." : path;
}

// Gives back the bytes read to sniff the encoding, then the rest.
class ReplaySource final : public ByteSource {
public:
  ReplaySource(std::string head, std::unique_ptr<ByteSource> rest) : m_head(std::move(head)), m_rest(std::move(rest)) {}
  Result<size_t> read(std::span<char> buffer) override {
    if (m_at < m_head.size()) {
      size_t n = std::min(buffer.size(), m_head.size() - m_at);
      std::memcpy(buffer.data(), m_head.data() + m_at, n);
      m_at += n;
      return n;
    }
    return m_rest->read(buffer);
  }

private:
  std::string m_head;
  size_t m_at = 0;
  std::unique_ptr<ByteSource> m_rest;
};

MemberKind kind_of_type(char type) {
  switch (type) {
  case '0': return MemberKind::regular;
  case '1': return MemberKind::hardlink;
  case '2': return MemberKind::symlink;
  case '3':
  case '4': return MemberKind::device;
  case '5': return MemberKind::directory;
  case '6': return MemberKind::fifo;
  case 'g': return MemberKind::global_header;
  default: return MemberKind::other;
  }
}

}  // namespace

struct ArchiveWalker::Impl {
  std::unique_ptr<ByteSource> source;
  // tar
  std::unique_ptr<TarReader> tar;
  // ISO 9660
  struct archive* archive = nullptr;
  std::string buffer;
  std::optional<Error> source_error;

  ~Impl() {
    if (archive != nullptr) archive_read_free(archive);
  }

  static la_ssize_t on_read(struct archive*, void* self_ptr, const void** out) {
    auto* self = static_cast<Impl*>(self_ptr);
    auto n = self->source->read(std::span<char>(self->buffer.data(), self->buffer.size()));
    if (!n) {
      self->source_error = n.error();
      return -1;
    }
    *out = self->buffer.data();
    return static_cast<la_ssize_t>(*n);
  }
  std::string error_text() const {
    if (source_error) return source_error->message();
    const char* e = archive_error_string(archive);
    return e ? e : "damaged archive";
  }
};

ArchiveWalker::ArchiveWalker(std::unique_ptr<Impl> impl, std::string label)
    : m_impl(std::move(impl)), m_label(std::move(label)) {}

ArchiveWalker::~ArchiveWalker() = default;

Result<std::unique_ptr<ArchiveWalker>> ArchiveWalker::open(std::unique_ptr<ByteSource> source, ArchiveFormat format,
                                                           std::string label) {
  auto impl = std::make_unique<Impl>();
  if (format == ArchiveFormat::tar) {
    // The encoding from the first bytes, as containerd's DecompressStream
    // tells gzip and zstd from a plain tar.
    std::string head(4, '\0');
    size_t got = 0;
    while (got < head.size()) {
      auto n = source->read(std::span<char>(head.data() + got, head.size() - got));
      if (!n) return fail(n.error().with_context(label));
      if (*n == 0) break;
      got += *n;
    }
    head.resize(got);
    Encoding encoding = sniff_encoding(head);
    impl->source = make_decoding_source(std::make_unique<ReplaySource>(std::move(head), std::move(source)), encoding);
    impl->tar = std::make_unique<TarReader>(*impl->source, label);
    return std::unique_ptr<ArchiveWalker>(new ArchiveWalker(std::move(impl), std::move(label)));
  }
  impl->source = std::move(source);
  impl->buffer.assign(k_stream_chunk, '\0');
  impl->archive = archive_read_new();
  archive* a = impl->archive;
  archive_read_support_format_iso9660(a);
  archive_read_set_callback_data(a, impl.get());
  archive_read_set_read_callback(a, &Impl::on_read);
  if (archive_read_open1(a) != ARCHIVE_OK) {
    std::string detail = impl->error_text();
    if (detail.find("Unrecognized archive format") != std::string::npos || detail.empty()) detail = "not an ISO 9660 image";
    return fail(ErrorKind::invalid_input, label + ": " + detail);
  }
  return std::unique_ptr<ArchiveWalker>(new ArchiveWalker(std::move(impl), std::move(label)));
}

Result<std::optional<ArchiveMember>> ArchiveWalker::next() {
  ArchiveMember member;
  if (m_impl->tar) {
    auto header = m_impl->tar->next();
    if (!header) return fail(header.error());
    if (!*header) return std::optional<ArchiveMember>();
    const TarHeader& h = **header;
    member.name = h.name;
    member.size = h.size < 0 ? 0 : static_cast<uint64_t>(h.size);
    member.typeflag = h.typeflag;
    member.kind = kind_of_type(h.typeflag);
    member.sparse = h.sparse;
    if (member.kind == MemberKind::symlink || member.kind == MemberKind::hardlink) member.link_target = h.linkname;
  } else {
    archive_entry* entry = nullptr;
    int rc = archive_read_next_header(m_impl->archive, &entry);
    if (rc == ARCHIVE_EOF) return std::optional<ArchiveMember>();
    if (rc < ARCHIVE_WARN) return fail(ErrorKind::invalid_input, m_label + ": " + m_impl->error_text());
    const char* name = archive_entry_pathname(entry);
    member.name = name ? name : "";
    member.size = static_cast<uint64_t>(archive_entry_size(entry));
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
  member.path = lookup_path(member.name);
  member.regular = member.kind == MemberKind::regular;
  m_sparse = member.sparse;
  return std::optional<ArchiveMember>(std::move(member));
}

Status ArchiveWalker::for_each(const Visitor& visit) {
  for (;;) {
    auto member = next();
    if (!member) return fail(member.error());
    if (!*member) return {};
    if (auto st = visit(**member); !st) return st;
  }
}

Result<size_t> ArchiveWalker::read(std::span<char> buffer) {
  if (m_sparse) return fail(ErrorKind::invalid_input, m_label + ": a sparse file, which sbpipe does not read");
  if (m_impl->tar) return m_impl->tar->read(buffer);
  la_ssize_t n = archive_read_data(m_impl->archive, buffer.data(), buffer.size());
  if (n < 0) return fail(ErrorKind::invalid_input, m_label + ": " + m_impl->error_text());
  return static_cast<size_t>(n);
}

Result<uint64_t> ArchiveWalker::copy_to(const std::filesystem::path& dest) {
  if (m_sparse) return fail(ErrorKind::invalid_input, m_label + ": a sparse file, which sbpipe does not read");
  int fd = ::open(dest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return fail(ErrorKind::io, dest.string() + ": " + std::strerror(errno));
  // Not the walker's buffer: libarchive may still point into it.
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

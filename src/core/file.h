#pragma once
// Local files: small reads and a streaming source over a byte range.

#include <sys/types.h>
#include <cstdint>
#include <filesystem>
#include <string>

#include "core/stream.h"

namespace sbpipe {

// Opens a regular file for reading (O_CLOEXEC): a read-only descriptor the
// caller closes. not_found when missing; invalid_input "PATH: not a regular
// file (a FIFO)" for FIFOs, devices (/dev/zero never ends), sockets and
// directories, refused without blocking; io on other errors.
Result<int> open_regular_file(const std::filesystem::path& path);

// Reads a whole file of at most max_bytes. not_found when it does not exist,
// invalid_input when it is larger or not a regular file (a FIFO, a device, a
// directory: refused without blocking, "PATH: not a regular file (a FIFO)"),
// io on other errors.
Result<std::string> read_small_file(const std::filesystem::path& path, size_t max_bytes = 1 << 20);

// Reads a secret from a file (trailing newlines stripped) and registers it
// for redaction. config error when unreadable, not a regular file, too large
// or empty; the message names `what`, the path and the reason.
Result<std::string> read_secret_file(const std::filesystem::path& path, std::string_view what);

// Opens a streaming source over [offset, offset + length) of a regular file
// (anything else: invalid_input, as read_small_file).
SourceOpener file_opener(std::filesystem::path path, uint64_t offset = 0, uint64_t length = UINT64_MAX);

// Streams `source` into a new temporary file beside `path`, flushes it to
// disk, renames it over `path` and flushes the directory: readers (and a
// crash) see the old file or the new one, never a part. The temporary file
// is removed on any failure. Returns the bytes written.
Result<uint64_t> write_atomically(const std::filesystem::path& path, ByteSource& source, mode_t mode = 0644);
Status write_file_atomically(const std::filesystem::path& path, const std::string& content, mode_t mode = 0644);

// Creates `dir` and its missing parents, each 0700: state only this user
// may read. Directories that exist keep their mode (a shared state_dir is
// the owner's to set). io error naming the directory.
Status create_private_directories(const std::filesystem::path& dir);

}  // namespace sbpipe

#pragma once
// Byte streams: how large content (layers, ISOs, assets) moves through sbpipe
// without ever being held in memory whole.

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "core/error.h"

namespace sbpipe {

// The buffer size for reading large content through a stream or a file (1 MiB).
constexpr size_t k_stream_chunk = 1 << 20;

class ByteSource {
public:
  virtual ~ByteSource() = default;
  // Fills up to buffer.size() bytes. Returns the count read; 0 means end of
  // stream. An error ends the stream; callers must not read again after one.
  virtual Result<size_t> read(std::span<char> buffer) = 0;
};

// Opens a fresh stream over the same content, from its first byte. Retries
// call it again, so it must be callable any number of times.
using SourceOpener = std::function<Result<std::unique_ptr<ByteSource>>()>;

// A source over bytes held in memory (manifests, configs: small by contract).
class MemorySource final : public ByteSource {
public:
  explicit MemorySource(std::string data) : m_data(std::move(data)) {}
  Result<size_t> read(std::span<char> buffer) override;

private:
  std::string m_data;
  size_t m_offset = 0;
};

SourceOpener memory_opener(std::string data);

// Reads a source to its end, passing each chunk to `consume`. Stops at the
// first error of either side.
Status drain(ByteSource& source, const std::function<Status(std::span<const char>)>& consume);

// Reads a whole source into memory, failing with invalid_input if it is
// larger than max_bytes. Only for small metadata documents.
Result<std::string> read_all(ByteSource& source, size_t max_bytes);

}  // namespace sbpipe

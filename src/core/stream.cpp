#include "core/stream.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace sbpipe {

Result<size_t> MemorySource::read(std::span<char> buffer) {
  size_t n = std::min(buffer.size(), m_data.size() - m_offset);
  std::memcpy(buffer.data(), m_data.data() + m_offset, n);
  m_offset += n;
  return n;
}

SourceOpener memory_opener(std::string data) {
  auto shared = std::make_shared<const std::string>(std::move(data));
  return [shared]() -> Result<std::unique_ptr<ByteSource>> { return std::make_unique<MemorySource>(*shared); };
}

Status drain(ByteSource& source, const std::function<Status(std::span<const char>)>& consume) {
  std::vector<char> buffer(256 * 1024);
  for (;;) {
    auto n = source.read(buffer);
    if (!n) return fail(n.error());
    if (*n == 0) return {};
    if (auto st = consume({buffer.data(), *n}); !st) return st;
  }
}

Result<std::string> read_all(ByteSource& source, size_t max_bytes) {
  std::string out;
  auto st = drain(source, [&](std::span<const char> chunk) -> Status {
    if (out.size() + chunk.size() > max_bytes)
      return fail(ErrorKind::invalid_input, "larger than " + std::to_string(max_bytes) + " bytes");
    out.append(chunk.data(), chunk.size());
    return {};
  });
  if (!st) return fail(st.error());
  return out;
}

}  // namespace sbpipe

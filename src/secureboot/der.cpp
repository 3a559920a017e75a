#include "secureboot/der.h"

#include <cstdio>

namespace sbpipe {

Result<DerElement> DerReader::next() {
  auto bad = [](const char* why) { return fail(ErrorKind::invalid_input, std::string("malformed DER: ") + why); };
  if (m_rest.size() < 2) return bad("truncated element");
  auto byte = [&](size_t i) { return static_cast<uint8_t>(m_rest[i]); };
  DerElement e;
  e.tag = byte(0);
  if ((e.tag & 0x1f) == 0x1f) return bad("multi-byte tag");
  size_t header = 2;
  uint64_t length = byte(1);
  if (length & 0x80) {
    size_t count = length & 0x7f;
    if (count == 0) return bad("indefinite length");
    if (count > 4) return bad("length longer than 4 bytes");
    if (m_rest.size() < 2 + count) return bad("truncated length");
    length = 0;
    for (size_t i = 0; i < count; ++i) length = length << 8 | byte(2 + i);
    header += count;
  }
  if (length > m_rest.size() - header) return bad("length runs past the data");
  e.content = m_rest.substr(header, length);
  e.whole = m_rest.substr(0, header + length);
  m_rest.remove_prefix(header + length);
  return e;
}

Result<DerElement> DerReader::expect(uint8_t tag, std::string_view what) {
  auto e = next();
  if (!e) return fail(e.error().with_context(what));
  if (e->tag != tag) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "expected tag 0x%02x, found 0x%02x", tag, e->tag);
    return fail(ErrorKind::invalid_input, std::string(what) + ": " + buf);
  }
  return e;
}

}  // namespace sbpipe

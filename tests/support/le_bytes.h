#pragma once
// Little-endian fields written into a byte string, for tests that build
// binary structures (PE headers, FAT volumes, partition tables) by hand:
// the writing side of core/bytes.h's le16/le32/le64.

#include <cstddef>
#include <cstdint>
#include <string>

namespace sbpipe::test {

inline void put16(std::string& d, size_t at, uint16_t v) {
  for (int i = 0; i < 2; ++i) d[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
inline void put32(std::string& d, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) d[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
inline void put64(std::string& d, size_t at, uint64_t v) {
  for (int i = 0; i < 8; ++i) d[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

}  // namespace sbpipe::test

#pragma once
// Little-endian integers at a byte position (PE/COFF, FAT, GPT and EFI
// structures are little-endian on disk). The caller has checked the bounds.

#include <cstdint>

namespace sbpipe {

inline uint16_t le16(const void* at) {
  auto p = static_cast<const unsigned char*>(at);
  return static_cast<uint16_t>(p[0] | p[1] << 8);
}
inline uint32_t le32(const void* at) {
  auto p = static_cast<const unsigned char*>(at);
  return le16(p) | static_cast<uint32_t>(le16(p + 2)) << 16;
}
inline uint64_t le64(const void* at) {
  auto p = static_cast<const unsigned char*>(at);
  return le32(p) | static_cast<uint64_t>(le32(p + 4)) << 32;
}

}  // namespace sbpipe

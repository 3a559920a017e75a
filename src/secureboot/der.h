#pragma once
// A minimal reader of DER (ASN.1 distinguished encoding) for the few
// structures OpenSSL does not parse for us: Authenticode's
// SpcIndirectDataContent. Definite lengths only; every length is checked
// against the bytes that remain.

#include <cstdint>
#include <string_view>

#include "core/error.h"

namespace sbpipe {

struct DerElement {
  uint8_t tag = 0;           // the identifier octet (low-tag-number form only)
  std::string_view content;  // the value octets
  std::string_view whole;    // tag, length and value
};

inline constexpr uint8_t k_der_sequence = 0x30;
inline constexpr uint8_t k_der_octet_string = 0x04;
inline constexpr uint8_t k_der_oid = 0x06;

class DerReader {
public:
  explicit DerReader(std::string_view bytes) : m_rest(bytes) {}
  bool at_end() const { return m_rest.empty(); }
  // The next element. invalid_input when truncated, indefinite-length or
  // using a multi-byte tag.
  Result<DerElement> next();
  // The next element, which must carry `tag`.
  Result<DerElement> expect(uint8_t tag, std::string_view what);

private:
  std::string_view m_rest;
};

}  // namespace sbpipe

#pragma once
// PE/COFF images (PE32 and PE32+), as UEFI firmware loads them: the headers
// needed to compute the Authenticode digest, the section table and the
// certificate table. Every offset and length read from the file is checked
// against the file's size before use; nothing is read beyond the headers
// until a caller asks for a section or the certificate table.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/random_access.h"

namespace sbpipe {

struct PeSection {
  std::string name;  // up to 8 characters, NULs stripped
  uint32_t virtual_size = 0;
  uint32_t virtual_address = 0;
  uint32_t raw_size = 0;    // SizeOfRawData
  uint32_t raw_offset = 0;  // PointerToRawData
};

// A file range, for hashing.
struct ByteRange {
  uint64_t offset = 0;
  uint64_t length = 0;
};

struct PeImage {
  enum class Format { pe32, pe32_plus };
  Format format = Format::pe32_plus;
  uint16_t machine = 0;
  uint64_t file_size = 0;
  uint32_t checksum_offset = 0;    // file offset of OptionalHeader.CheckSum
  uint32_t cert_dir_offset = 0;    // file offset of the Certificate Table directory entry
  uint32_t size_of_headers = 0;
  uint32_t cert_table_offset = 0;  // both 0 when the image carries no signature
  uint32_t cert_table_size = 0;
  std::vector<PeSection> sections;

  bool is_signed() const { return cert_table_size != 0; }
  // The section of this name, or nullptr.
  const PeSection* find_section(std::string_view name) const;
  // "x64", "aa64", "ia32", "arm" or the machine number in hex.
  std::string machine_name() const;
};

// Parses the headers. invalid_input, naming the field, for anything a
// loader would refuse: no MZ/PE signature, an unknown optional-header magic,
// a section or certificate table outside the file, a certificate table that
// is not the last thing in the file.
Result<PeImage> parse_pe(const RandomAccess& file);

// The ranges the Authenticode digest covers, in hashing order: the headers
// without CheckSum and the Certificate Table entry, the sections sorted by
// file offset, then any data after them up to the certificate table.
std::vector<ByteRange> authenticode_ranges(const PeImage& image);

// Reads a section's content: VirtualSize bytes (the loaded size), capped by
// its raw size, with trailing NULs removed. invalid_input when larger than
// max_bytes.
Result<std::string> read_section(const RandomAccess& file, const PeSection& section, size_t max_bytes);

// One WIN_CERTIFICATE entry of the certificate table.
struct WinCertificate {
  uint16_t revision = 0;  // 0x0200 for WIN_CERT_REVISION_2_0
  uint16_t type = 0;      // 0x0002 for WIN_CERT_TYPE_PKCS_SIGNED_DATA
  std::string data;       // for PKCS_SIGNED_DATA: DER of a PKCS#7 ContentInfo
};
inline constexpr uint16_t k_win_cert_type_pkcs_signed_data = 0x0002;

// Reads every entry of the certificate table (8-byte aligned, as the
// Authenticode format lays them out). Empty for an unsigned image.
Result<std::vector<WinCertificate>> read_certificates(const RandomAccess& file, const PeImage& image);

} // namespace sbpipe

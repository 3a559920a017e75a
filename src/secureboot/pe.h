#pragma once
// PE/COFF images (PE32 and PE32+) as UEFI firmware reads them before it
// verifies a signature: the header and section checks of EDK2's
// MdePkg/Library/BasePeCoffLib/BasePeCoff.c (PeCoffLoaderGetPeHeader,
// PeCoffLoaderGetImageInfo, edk2-stable202211, what Debian 12's OVMF runs),
// and the ranges its Authenticode digest covers (SecurityPkg/Library/
// DxeImageVerificationLib/DxeImageVerificationLib.c HashPeImage). An image
// these refuse is refused under SecureBoot whatever its signature, so
// parse_pe refuses exactly those. Every offset and length is checked
// against the file's size before use; nothing past the headers is read
// except what EDK2 itself reads (the last byte of each section, the debug
// directory).

#include <cstdint>
#include <optional>
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
  bool has_mz_header = true;     // false: the PE header sits at offset 0 (EDK2 accepts that)
  uint32_t pe_offset = 0;        // file offset of "PE\0\0"
  uint32_t checksum_offset = 0;  // file offset of OptionalHeader.CheckSum
  uint32_t rva_count = 0;        // NumberOfRvaAndSizes
  uint32_t cert_dir_offset = 0;  // file offset of the Certificate Table entry; 0 when rva_count <= 4
  uint32_t size_of_headers = 0;
  uint32_t size_of_image = 0;
  uint32_t cert_table_offset = 0;  // the Certificate Table entry as written (a file offset)
  uint32_t cert_table_size = 0;
  std::vector<PeSection> sections;

  // Signed as the firmware sees it: a Certificate Table entry with a
  // non-zero Size (DxeImageVerificationHandler; otherwise it is checked as
  // an unsigned image, whose hash would have to be in db).
  bool is_signed() const { return cert_dir_offset != 0 && cert_table_size != 0; }
  // The section of this name, or nullptr.
  const PeSection* find_section(std::string_view name) const;
  // "x64", "aa64", "ia32", "arm" or the machine number in hex.
  std::string machine_name() const;
};

// Parses the headers. invalid_input ("not a valid PE image: ..." naming the
// rule) for anything EDK2's loader refuses, so the firmware would refuse to
// start it; io when the file cannot be read. The machine type is not
// checked: each architecture's firmware takes its own.
Result<PeImage> parse_pe(const RandomAccess& file);

// The ranges the Authenticode digest covers, in hashing order, as EDK2's
// HashPeImage takes them: the headers without CheckSum and the Certificate
// Table entry, the sections with raw data sorted by file offset, then the
// bytes from "SizeOfHeaders + every SizeOfRawData" to the end of the file
// less the Certificate Table's Size. nullopt where HashPeImage fails (the
// sections and the table claim more bytes than the file holds, yet the
// sections alone do not): the firmware cannot hash such an image and
// refuses every signature on it.
std::optional<std::vector<ByteRange>> authenticode_ranges(const PeImage& image);

// Reads a section's content: VirtualSize bytes (the loaded size), capped by
// its raw size, with trailing NULs removed. invalid_input when larger than
// max_bytes.
Result<std::string> read_section(const RandomAccess& file, const PeSection& section, size_t max_bytes);

}  // namespace sbpipe

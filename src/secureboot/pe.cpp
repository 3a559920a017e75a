#include "secureboot/pe.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>

#include "core/bytes.h"

namespace sbpipe {
namespace {

// Offsets from the Microsoft PE/COFF specification ("PE Format": MS-DOS
// stub, COFF file header, optional header standard/Windows fields, data
// directories, section table) and the EDK2 structures named beside them
// (MdePkg/Include/IndustryStandard/PeImage.h).
constexpr uint64_t k_dos_header_size = 64;  // sizeof (EFI_IMAGE_DOS_HEADER)
constexpr uint64_t k_lfanew_offset = 0x3c;
constexpr uint64_t k_nt_headers_read = 264;     // sizeof (EFI_IMAGE_OPTIONAL_HEADER_UNION): NT headers of PE32+
constexpr uint64_t k_section_header_size = 40;  // EFI_IMAGE_SIZEOF_SECTION_HEADER
constexpr uint16_t k_magic_pe32 = 0x10b;
constexpr uint16_t k_magic_pe32_plus = 0x20b;
constexpr uint32_t k_max_directories = 16;     // EFI_IMAGE_NUMBER_OF_DIRECTORY_ENTRIES
constexpr uint32_t k_security_directory = 4;   // EFI_IMAGE_DIRECTORY_ENTRY_SECURITY
constexpr uint32_t k_debug_directory = 6;      // EFI_IMAGE_DIRECTORY_ENTRY_DEBUG
constexpr uint64_t k_debug_entry_size = 28;    // sizeof (EFI_IMAGE_DEBUG_DIRECTORY_ENTRY)
constexpr uint32_t k_debug_type_codeview = 2;  // EFI_IMAGE_DEBUG_TYPE_CODEVIEW

std::unexpected<Error> malformed(std::string reason) {
  return fail(ErrorKind::invalid_input, "not a valid PE image: " + std::move(reason));
}

// EDK2's loader reads one byte at `offset` to prove it lies in the file
// (DxeImageVerificationLibImageRead returns fewer bytes past the end, and
// PeCoffLoaderGetPeHeader refuses a short read).
bool byte_in_file(uint64_t offset, uint64_t file_size) { return offset < file_size; }

// PeCoffLoaderGetImageInfo (BasePeCoff.c): when the debug directory's RVA
// falls in a section (the first, in table order, whose [VirtualAddress,
// VirtualAddress + VirtualSize) holds it, the sum taken in 32 bits as EDK2
// does), its entries are read 28 bytes at a time from the mapped file
// offset until a CodeView entry or the directory's Size; a read past the
// end of the file refuses the image.
Status check_debug_directory(const RandomAccess& file, const PeImage& image, uint32_t rva, uint32_t size) {
  uint64_t file_offset = 0;
  for (const auto& s : image.sections) {
    uint32_t end = s.virtual_address + s.virtual_size;  // wraps as EDK2's UINT32 sum does
    if (rva >= s.virtual_address && rva < end) {
      file_offset = uint64_t{rva} - s.virtual_address + s.raw_offset;
      break;
    }
  }
  if (file_offset == 0) return {};
  std::array<char, 64 * 1024 / k_debug_entry_size * k_debug_entry_size> chunk{};
  for (uint64_t index = 0; index < size;) {
    uint64_t at = file_offset + index;
    uint64_t entries =
        std::min<uint64_t>((size - index + k_debug_entry_size - 1) / k_debug_entry_size, chunk.size() / k_debug_entry_size);
    if (!range_fits(at, entries * k_debug_entry_size, image.file_size)) {
      // Some entry of this chunk runs past the end: read the ones that fit.
      entries = at < image.file_size ? (image.file_size - at) / k_debug_entry_size : 0;
      if (entries == 0) return malformed("the debug directory runs past the end of the file (PeCoffLoaderGetImageInfo)");
    }
    std::span<char> bytes(chunk.data(), entries * k_debug_entry_size);
    if (auto st = file.read_at(at, bytes); !st) return st;
    for (uint64_t e = 0; e < entries; ++e)
      if (le32(bytes.data() + e * k_debug_entry_size + 12) == k_debug_type_codeview) return {};
    index += entries * k_debug_entry_size;
  }
  return {};
}

}  // namespace

const PeSection* PeImage::find_section(std::string_view name) const {
  for (const auto& s : sections)
    if (s.name == name) return &s;
  return nullptr;
}

std::string PeImage::machine_name() const {
  switch (machine) {
  case 0x8664: return "x64";
  case 0xaa64: return "aa64";
  case 0x014c: return "ia32";
  case 0x01c2: return "arm";
  case 0x5064: return "riscv64";
  }
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%04x", machine);
  return buf;
}

// Each check below is one of PeCoffLoaderGetPeHeader's (BasePeCoff.c),
// in its order, unless it names another function.
Result<PeImage> parse_pe(const RandomAccess& file) {
  PeImage image;
  image.file_size = file.size();
  std::array<char, k_dos_header_size> dos{};
  if (image.file_size < dos.size()) return malformed("file is too short for an MS-DOS header");
  if (auto st = file.read_at(0, dos); !st) return fail(st.error());
  // Without "MZ" the PE header is read at offset 0.
  image.has_mz_header = dos[0] == 'M' && dos[1] == 'Z';
  image.pe_offset = image.has_mz_header ? le32(dos.data() + k_lfanew_offset) : 0;

  // The NT headers are read whole (the PE32+ size even for PE32).
  std::array<char, k_nt_headers_read> nt{};
  if (!range_fits(image.pe_offset, nt.size(), image.file_size)) return malformed("e_lfanew points past the end of the file");
  if (auto st = file.read_at(image.pe_offset, nt); !st) return fail(st.error());
  // A TE image passes the loader, but DxeImageVerificationHandler refuses
  // anything without the PE signature.
  if (nt[0] != 'P' || nt[1] != 'E' || nt[2] != 0 || nt[3] != 0) return malformed("no PE signature at e_lfanew");
  image.machine = le16(nt.data() + 4);
  uint32_t section_count = le16(nt.data() + 6);
  uint32_t optional_size = le16(nt.data() + 20);
  const char* optional = nt.data() + 24;
  uint64_t optional_offset = uint64_t{image.pe_offset} + 24;

  uint16_t magic = le16(optional);
  uint32_t rva_count_at, directories_at;
  if (magic == k_magic_pe32) {
    image.format = PeImage::Format::pe32;
    rva_count_at = 92;
    directories_at = 96;
  } else if (magic == k_magic_pe32_plus) {
    image.format = PeImage::Format::pe32_plus;
    rva_count_at = 108;
    directories_at = 112;
  } else {
    return malformed("unknown optional header magic");
  }
  image.rva_count = le32(optional + rva_count_at);
  if (image.rva_count > k_max_directories) return malformed("NumberOfRvaAndSizes is above 16");
  // The 32-bit difference wraps for a short header, as EDK2's does.
  if (static_cast<uint32_t>(optional_size - directories_at) != image.rva_count * 8)
    return malformed("SizeOfOptionalHeader does not match NumberOfRvaAndSizes");

  uint64_t sections_offset = optional_offset + optional_size;
  image.size_of_image = le32(optional + 56);
  image.size_of_headers = le32(optional + 60);
  if (image.size_of_image <= sections_offset || (image.size_of_image - sections_offset) / k_section_header_size <= section_count)
    return malformed("SizeOfImage is too small for the section table");
  if (image.size_of_headers <= sections_offset || image.size_of_headers >= image.size_of_image ||
      (image.size_of_headers - sections_offset) / k_section_header_size < section_count)
    return malformed("SizeOfHeaders does not cover the section table or is not below SizeOfImage");
  if (!byte_in_file(image.size_of_headers - 1, image.file_size)) return malformed("SizeOfHeaders exceeds the file");

  image.checksum_offset = static_cast<uint32_t>(optional_offset + 64);
  if (image.rva_count > k_security_directory) {
    image.cert_dir_offset = static_cast<uint32_t>(optional_offset + directories_at + k_security_directory * 8);
    image.cert_table_offset = le32(optional + directories_at + k_security_directory * 8);
    image.cert_table_size = le32(optional + directories_at + k_security_directory * 8 + 4);
    if (image.cert_table_size != 0) {
      if (UINT32_MAX - image.cert_table_offset < image.cert_table_size)
        return malformed("certificate table offset and size overflow 32 bits");
      if (!byte_in_file(uint64_t{image.cert_table_offset} + image.cert_table_size - 1, image.file_size))
        return malformed("certificate table points past the end of the file");
    }
  }

  // The section table lies within SizeOfHeaders, which lies within the file.
  std::string table(uint64_t{section_count} * k_section_header_size, '\0');
  if (auto st = file.read_at(sections_offset, table); !st) return fail(st.error());
  for (uint32_t i = 0; i < section_count; ++i) {
    const char* h = table.data() + i * k_section_header_size;
    PeSection s;
    s.name.assign(h, strnlen(h, 8));
    s.virtual_size = le32(h + 8);
    s.virtual_address = le32(h + 12);
    s.raw_size = le32(h + 16);
    s.raw_offset = le32(h + 20);
    if (s.raw_size > 0) {
      if (s.virtual_address < image.size_of_headers || s.raw_offset < image.size_of_headers)
        return malformed("section '" + s.name + "' starts inside the headers");
      if (UINT32_MAX - s.raw_offset < s.raw_size) return malformed("section '" + s.name + "' offset and size overflow 32 bits");
      if (!byte_in_file(uint64_t{s.raw_offset} + s.raw_size - 1, image.file_size))
        return malformed("section '" + s.name + "' runs past the end of the file (truncated?)");
    }
    image.sections.push_back(std::move(s));
  }

  if (image.rva_count > k_debug_directory) {
    const char* debug = optional + directories_at + k_debug_directory * 8;
    if (auto st = check_debug_directory(file, image, le32(debug), le32(debug + 4)); !st) return fail(st.error());
  }
  return image;
}

// HashPeImage (DxeImageVerificationLib.c), step by step.
std::optional<std::vector<ByteRange>> authenticode_ranges(const PeImage& image) {
  std::vector<ByteRange> ranges;
  auto add = [&](uint64_t from, uint64_t to) {
    if (to > from) ranges.push_back({from, to - from});
  };
  // Steps 3-9: the headers, without CheckSum and the Certificate Table entry
  // (all of it up to SizeOfHeaders when there is no such entry).
  add(0, image.checksum_offset);
  if (image.cert_dir_offset == 0) {
    add(image.checksum_offset + 4, image.size_of_headers);
  } else {
    add(image.checksum_offset + 4, image.cert_dir_offset);
    add(image.cert_dir_offset + 8, image.size_of_headers);
  }
  // Steps 10-15: the sections with raw data, by PointerToRawData (a stable
  // insertion sort in EDK2), SizeOfRawData bytes each, counted.
  std::vector<const PeSection*> by_offset;
  for (const auto& s : image.sections)
    if (s.raw_size != 0) by_offset.push_back(&s);
  std::stable_sort(by_offset.begin(), by_offset.end(),
                   [](const PeSection* a, const PeSection* b) { return a->raw_offset < b->raw_offset; });
  uint64_t hashed = image.size_of_headers;
  for (const auto* s : by_offset) {
    add(s->raw_offset, uint64_t{s->raw_offset} + s->raw_size);
    hashed += s->raw_size;
  }
  // Step 16: "bytes hashed so far" is where extra data is taken to start;
  // it runs to the file's end less the Certificate Table's Size. Only when
  // the file is longer than what was counted, and shorter than that plus
  // the table, does EDK2 give up.
  if (image.file_size > hashed) {
    uint64_t cert_size = image.cert_dir_offset == 0 ? 0 : image.cert_table_size;
    if (image.file_size > cert_size + hashed)
      add(hashed, image.file_size - cert_size);
    else if (image.file_size < cert_size + hashed)
      return std::nullopt;
  }
  return ranges;
}

Result<std::string> read_section(const RandomAccess& file, const PeSection& section, size_t max_bytes) {
  uint64_t length = section.virtual_size != 0 ? std::min(section.virtual_size, section.raw_size) : section.raw_size;
  if (length > max_bytes)
    return fail(ErrorKind::invalid_input,
                "section '" + section.name + "' is larger than " + std::to_string(max_bytes) + " bytes");
  if (!range_fits(section.raw_offset, length, file.size()))
    return fail(ErrorKind::invalid_input, "section '" + section.name + "' runs past the end of the file");
  std::string data(length, '\0');
  if (auto st = file.read_at(section.raw_offset, data); !st) return fail(st.error());
  while (!data.empty() && data.back() == '\0') data.pop_back();
  return data;
}

}  // namespace sbpipe

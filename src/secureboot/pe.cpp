#include "secureboot/pe.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>

namespace sbpipe {
namespace {

// Offsets from the Microsoft PE/COFF specification ("PE Format": MS-DOS
// stub, COFF file header, optional header standard/Windows fields, data
// directories, section table).
constexpr uint64_t k_lfanew_offset = 0x3c;
constexpr uint64_t k_coff_header_size = 20;
constexpr uint64_t k_section_header_size = 40;
constexpr uint16_t k_magic_pe32 = 0x10b;
constexpr uint16_t k_magic_pe32_plus = 0x20b;
constexpr uint32_t k_max_sections = 96;  // the loader's limit
constexpr uint32_t k_cert_directory_index = 4;
constexpr uint32_t k_max_cert_table = 1 << 20;

uint16_t le16(const char* p) {
  return static_cast<uint16_t>(static_cast<uint8_t>(p[0]) | static_cast<uint8_t>(p[1]) << 8);
}
uint32_t le32(const char* p) { return le16(p) | static_cast<uint32_t>(le16(p + 2)) << 16; }

std::unexpected<Error> malformed(std::string reason) {
  return fail(ErrorKind::invalid_input, "not a valid PE image: " + std::move(reason));
}

} // namespace

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

Result<PeImage> parse_pe(const RandomAccess& file) {
  PeImage image;
  image.file_size = file.size();
  std::array<char, 64> dos{};
  if (image.file_size < dos.size()) return malformed("file is too short for an MS-DOS header");
  if (auto st = file.read_at(0, dos); !st) return fail(st.error());
  if (dos[0] != 'M' || dos[1] != 'Z') return malformed("no MZ signature");
  uint64_t pe_offset = le32(dos.data() + k_lfanew_offset);

  std::array<char, 4 + k_coff_header_size> coff{};
  if (!range_fits(pe_offset, coff.size(), image.file_size)) return malformed("e_lfanew points past the end of the file");
  if (auto st = file.read_at(pe_offset, coff); !st) return fail(st.error());
  if (coff[0] != 'P' || coff[1] != 'E' || coff[2] != 0 || coff[3] != 0) return malformed("no PE signature at e_lfanew");
  image.machine = le16(coff.data() + 4);
  uint32_t section_count = le16(coff.data() + 6);
  uint32_t optional_size = le16(coff.data() + 20);
  if (section_count > k_max_sections) return malformed("more than 96 sections");

  uint64_t optional_offset = pe_offset + coff.size();
  if (optional_size < 2 || !range_fits(optional_offset, optional_size, image.file_size))
    return malformed("optional header runs past the end of the file");
  std::string optional(optional_size, '\0');
  if (auto st = file.read_at(optional_offset, optional); !st) return fail(st.error());

  uint16_t magic = le16(optional.data());
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
  if (optional_size < directories_at) return malformed("optional header too short");
  uint32_t rva_count = le32(optional.data() + rva_count_at);
  uint32_t cert_entry_at = directories_at + k_cert_directory_index * 8;
  if (rva_count <= k_cert_directory_index || optional_size < cert_entry_at + 8)
    return malformed("no certificate table directory entry");

  image.checksum_offset = static_cast<uint32_t>(optional_offset + 64);
  image.cert_dir_offset = static_cast<uint32_t>(optional_offset + cert_entry_at);
  image.size_of_headers = le32(optional.data() + 60);
  image.cert_table_offset = le32(optional.data() + cert_entry_at);
  image.cert_table_size = le32(optional.data() + cert_entry_at + 4);

  uint64_t sections_offset = optional_offset + optional_size;
  uint64_t sections_bytes = uint64_t{section_count} * k_section_header_size;
  if (!range_fits(sections_offset, sections_bytes, image.file_size))
    return malformed("section table runs past the end of the file");
  if (image.size_of_headers < sections_offset + sections_bytes || image.size_of_headers > image.file_size)
    return malformed("SizeOfHeaders does not cover the headers or exceeds the file");

  std::string table(sections_bytes, '\0');
  if (auto st = file.read_at(sections_offset, table); !st) return fail(st.error());
  for (uint32_t i = 0; i < section_count; ++i) {
    const char* h = table.data() + i * k_section_header_size;
    PeSection s;
    s.name.assign(h, strnlen(h, 8));
    s.virtual_size = le32(h + 8);
    s.virtual_address = le32(h + 12);
    s.raw_size = le32(h + 16);
    s.raw_offset = le32(h + 20);
    if (s.raw_size != 0 && !range_fits(s.raw_offset, s.raw_size, image.file_size))
      return malformed("section '" + s.name + "' runs past the end of the file (truncated?)");
    image.sections.push_back(std::move(s));
  }

  if (image.cert_table_size != 0 || image.cert_table_offset != 0) {
    if (!range_fits(image.cert_table_offset, image.cert_table_size, image.file_size))
      return malformed("certificate table points past the end of the file");
    if (uint64_t{image.cert_table_offset} + image.cert_table_size != image.file_size)
      return malformed("certificate table is not at the end of the file (unsigned trailing data)");
    if (image.cert_table_offset < image.size_of_headers)
      return malformed("certificate table overlaps the headers");
  }
  return image;
}

std::vector<ByteRange> authenticode_ranges(const PeImage& image) {
  std::vector<ByteRange> ranges;
  auto add = [&](uint64_t from, uint64_t to) {
    if (to > from) ranges.push_back({from, to - from});
  };
  add(0, image.checksum_offset);
  add(image.checksum_offset + 4, image.cert_dir_offset);
  add(image.cert_dir_offset + 8, image.size_of_headers);

  std::vector<const PeSection*> by_offset;
  for (const auto& s : image.sections)
    if (s.raw_size != 0) by_offset.push_back(&s);
  std::stable_sort(by_offset.begin(), by_offset.end(),
                   [](const PeSection* a, const PeSection* b) { return a->raw_offset < b->raw_offset; });
  // As UEFI firmware (EDK2) does it: "bytes hashed so far" doubles as the
  // offset where trailing data starts, which holds when sections are packed.
  uint64_t hashed = image.size_of_headers;
  for (const auto* s : by_offset) {
    add(s->raw_offset, uint64_t{s->raw_offset} + s->raw_size);
    hashed += s->raw_size;
  }
  uint64_t end = image.file_size - image.cert_table_size;
  if (end > hashed) add(hashed, end);
  return ranges;
}

Result<std::string> read_section(const RandomAccess& file, const PeSection& section, size_t max_bytes) {
  uint64_t length = section.virtual_size != 0 ? std::min(section.virtual_size, section.raw_size) : section.raw_size;
  if (length > max_bytes)
    return fail(ErrorKind::invalid_input, "section '" + section.name + "' is larger than " + std::to_string(max_bytes) + " bytes");
  std::string data(length, '\0');
  if (auto st = file.read_at(section.raw_offset, data); !st) return fail(st.error());
  while (!data.empty() && data.back() == '\0') data.pop_back();
  return data;
}

Result<std::vector<WinCertificate>> read_certificates(const RandomAccess& file, const PeImage& image) {
  std::vector<WinCertificate> out;
  if (!image.is_signed()) return out;
  if (image.cert_table_size > k_max_cert_table) return malformed("certificate table larger than 1 MiB");
  std::string table(image.cert_table_size, '\0');
  if (auto st = file.read_at(image.cert_table_offset, table); !st) return fail(st.error());
  size_t at = 0;
  while (at + 8 <= table.size()) {
    uint32_t length = le32(table.data() + at);
    if (length < 8 || length > table.size() - at) return malformed("WIN_CERTIFICATE length runs past the certificate table");
    WinCertificate cert;
    cert.revision = le16(table.data() + at + 4);
    cert.type = le16(table.data() + at + 6);
    cert.data = table.substr(at + 8, length - 8);
    out.push_back(std::move(cert));
    at += (uint64_t{length} + 7) & ~uint64_t{7};
  }
  if (out.empty()) return malformed("certificate table holds no WIN_CERTIFICATE");
  return out;
}

} // namespace sbpipe

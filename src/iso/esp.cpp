#include "iso/esp.h"

#include <array>
#include <cstring>

#include "core/bytes.h"

namespace sbpipe {
namespace {

constexpr uint64_t k_iso_sector = 2048;
constexpr uint64_t k_boot_record_sector = 17;  // ECMA-119 / El Torito: the boot record volume descriptor
constexpr uint8_t k_platform_efi = 0xEF;
constexpr uint8_t k_mbr_type_esp = 0xEF;
constexpr uint8_t k_mbr_type_gpt = 0xEE;
// C12A7328-F81F-11D2-BA4B-00A0C93EC93B in GPT's mixed-endian layout (UEFI 2.10, 5.3.3).
constexpr unsigned char k_esp_guid[16] = {0x28, 0x73, 0x2A, 0xC1, 0x1F, 0xF8, 0xD2, 0x11,
                                          0xBA, 0x4B, 0x00, 0xA0, 0xC9, 0x3E, 0xC9, 0x3B};

template <size_t N>
Result<bool> read(const RandomAccess& f, uint64_t at, std::array<unsigned char, N>& out) {
  if (!range_fits(at, N, f.size())) return false;
  if (auto st = f.read_at(at, std::span<char>(reinterpret_cast<char*>(out.data()), N)); !st) return fail(st.error());
  return true;
}

void add(std::vector<EspLocation>& out, uint64_t offset, uint64_t size, std::string source) {
  for (const auto& e : out)
    if (e.offset == offset) return;
  out.push_back(EspLocation{offset, size, std::move(source)});
}

Status el_torito(const RandomAccess& iso, std::vector<EspLocation>& out) {
  std::array<unsigned char, 2048> brvd{};
  auto got = read(iso, k_boot_record_sector * k_iso_sector, brvd);
  if (!got) return fail(got.error());
  if (!*got || brvd[0] != 0 || std::memcmp(&brvd[1], "CD001", 5) != 0 ||
      std::memcmp(&brvd[7], "EL TORITO SPECIFICATION", 23) != 0)
    return {};
  uint64_t catalog = uint64_t{le32(&brvd[0x47])} * k_iso_sector;
  std::array<unsigned char, 2048> cat{};
  got = read(iso, catalog, cat);
  if (!got) return fail(got.error());
  if (!*got) return fail(ErrorKind::invalid_input, "the El Torito boot catalog lies outside the image");
  if (cat[0] != 0x01 || cat[30] != 0x55 || cat[31] != 0xAA)
    return fail(ErrorKind::invalid_input, "the El Torito boot catalog is damaged");
  auto entry = [&](size_t at, uint8_t platform) {
    const unsigned char* e = &cat[at];
    if (e[0] != 0x88 || platform != k_platform_efi) return;  // bootable entries for UEFI only
    uint64_t offset = uint64_t{le32(e + 8)} * k_iso_sector;
    uint64_t sectors = le16(e + 6);
    // xorriso stores 0 or 1 virtual sectors for images larger than 32 MiB:
    // the FAT's own boot sector then tells the size.
    uint64_t size = sectors > 1 ? sectors * 512 : (offset < iso.size() ? iso.size() - offset : 0);
    add(out, offset, size, "El Torito UEFI entry");
  };
  entry(32, cat[1]);  // the default entry, for the validation entry's platform
  for (size_t at = 64; at + 32 <= cat.size();) {
    uint8_t header = cat[at];
    if (header != 0x90 && header != 0x91) break;
    uint8_t platform = cat[at + 1];
    size_t count = le16(&cat[at + 2]);
    at += 32;
    for (size_t i = 0; i < count && at + 32 <= cat.size(); ++i, at += 32) entry(at, platform);
    if (header == 0x91) break;
  }
  return {};
}

Status partitions(const RandomAccess& iso, std::vector<EspLocation>& out) {
  std::array<unsigned char, 512> mbr{};
  auto got = read(iso, 0, mbr);
  if (!got) return fail(got.error());
  if (!*got || mbr[510] != 0x55 || mbr[511] != 0xAA) return {};
  bool gpt = false;
  for (int i = 0; i < 4; ++i) {
    const unsigned char* p = &mbr[446 + 16 * i];
    uint64_t start = uint64_t{le32(p + 8)} * 512, size = uint64_t{le32(p + 12)} * 512;
    if (p[4] == k_mbr_type_gpt) gpt = true;
    if (p[4] != k_mbr_type_esp || size == 0) continue;
    if (!range_fits(start, size, iso.size()))
      return fail(ErrorKind::invalid_input, "MBR partition " + std::to_string(i + 1) + " (EFI system) lies outside the image");
    add(out, start, size, "MBR partition " + std::to_string(i + 1) + " (type 0xef)");
  }
  if (!gpt) return {};
  std::array<unsigned char, 512> header{};
  got = read(iso, 512, header);
  if (!got) return fail(got.error());
  if (!*got || std::memcmp(header.data(), "EFI PART", 8) != 0) return {};
  uint64_t entries = le64(&header[72]) * 512;
  uint32_t count = le32(&header[80]), entry_size = le32(&header[84]);
  if (entry_size < 128 || entry_size > 4096 || count > 1024) return fail(ErrorKind::invalid_input, "the GPT header is damaged");
  for (uint32_t i = 0; i < count; ++i) {
    std::array<unsigned char, 128> e{};
    got = read(iso, entries + uint64_t{i} * entry_size, e);
    if (!got) return fail(got.error());
    if (!*got) return fail(ErrorKind::invalid_input, "the GPT partition entries lie outside the image");
    if (std::memcmp(e.data(), k_esp_guid, 16) != 0) continue;
    uint64_t first = le64(&e[32]) * 512, last = le64(&e[40]) * 512;
    if (last < first || !range_fits(first, last - first + 512, iso.size()))
      return fail(ErrorKind::invalid_input, "GPT partition " + std::to_string(i + 1) + " (EFI system) lies outside the image");
    add(out, first, last - first + 512, "GPT partition " + std::to_string(i + 1));
  }
  return {};
}

}  // namespace

Result<std::vector<EspLocation>> find_efi_system_partitions(const RandomAccess& iso) {
  std::vector<EspLocation> out;
  if (auto st = el_torito(iso, out); !st) return fail(st.error());
  if (auto st = partitions(iso, out); !st) return fail(st.error());
  return out;
}

}  // namespace sbpipe

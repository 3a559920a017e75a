#include "iso/esp.h"

#include <array>
#include <cstdio>
#include <cstring>
#include <optional>

#include "core/bytes.h"

namespace sbpipe {
namespace {

constexpr uint64_t k_sector = 512;  // MBR_SIZE
constexpr uint64_t k_cd_block = 2048;
constexpr int k_max_depth = 4;  // nested tables followed
constexpr size_t k_max_places = 256;
constexpr uint8_t k_mbr_type_gpt = 0xEE;
// The unused GPT entry type (all zero), gEfiPartTypeUnusedGuid.
constexpr unsigned char k_unused_guid[16] = {};

// A block device as PartitionDxe sees one: the whole image or a partition.
struct Medium {
  uint64_t offset = 0;
  uint64_t size = 0;
  uint64_t block = k_sector;
  bool in_partition_table = false;  // a partition of an MBR or GPT (Mbr.c reads extended boot records there)
  std::string source;
};

uint32_t crc32(const unsigned char* p, size_t n) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

class Scanner {
public:
  Scanner(const RandomAccess& image, std::vector<EspLocation>& out) : m_image(image), m_out(out) {}

  Status scan(const Medium& m, int depth) {
    add(m.offset, m.size, m.source);
    if (depth >= k_max_depth || m.size < m.block) return {};
    std::vector<Medium> children;
    auto gpt_found = gpt(m, children);
    if (!gpt_found) return fail(gpt_found.error());
    if (!*gpt_found) {
      auto el_torito_found = el_torito(m, children);
      if (!el_torito_found) return fail(el_torito_found.error());
      if (!*el_torito_found)
        if (auto st = mbr(m, children); !st) return st;
    }
    for (const auto& child : children)
      if (auto st = scan(child, depth + 1); !st) return st;
    return {};
  }

private:
  // Reads `n` bytes at `at` of medium `m`; false when they lie outside it or the image.
  Result<bool> read(const Medium& m, uint64_t at, unsigned char* into, size_t n) {
    if (!range_fits(at, n, m.size) || !range_fits(m.offset + at, n, m_image.size())) return false;
    if (auto st = m_image.read_at(m.offset + at, std::span<char>(reinterpret_cast<char*>(into), n)); !st) return fail(st.error());
    return true;
  }

  void add(uint64_t offset, uint64_t size, const std::string& source) {
    if (offset >= m_image.size() || m_out.size() >= k_max_places) return;
    size = std::min(size, m_image.size() - offset);
    for (const auto& e : m_out)
      if (e.offset == offset && e.size == size) return;
    m_out.push_back(EspLocation{offset, size, source});
  }

  Medium child(const Medium& parent, uint64_t start, uint64_t bytes, uint64_t block, bool in_table, std::string what) {
    Medium c;
    c.offset = parent.offset + start;
    // A size of 0 (an El Torito entry whose count is below 2 and which starts where the ISO volume
    // ends) leaves the firmware a partition it cannot read from (PartitionReadBlocks: every read
    // passes its End): nothing mounts there.
    c.size = start >= parent.size ? 0 : std::min(bytes, parent.size - start);
    c.block = block;
    c.in_partition_table = in_table;
    c.source = (parent.source == "the whole image" ? "" : parent.source + ", ") + what +
               (parent.block == k_cd_block ? " (2048-byte blocks)" : "");
    return c;
  }

  // PartitionValidGptTable: the header at `lba` and its entry array.
  struct GptTable {
    uint64_t entries_lba = 0, first_usable = 0, last_usable = 0;
    uint32_t count = 0, entry_size = 0;
    bool array_crc_ok = false;
  };
  Result<std::optional<GptTable>> gpt_header(const Medium& m, uint64_t lba) {
    std::vector<unsigned char> hdr(m.block);
    auto got = read(m, lba * m.block, hdr.data(), hdr.size());
    if (!got) return fail(got.error());
    if (!*got || std::memcmp(hdr.data(), "EFI PART", 8) != 0) return std::nullopt;
    uint32_t header_size = le32(&hdr[12]), crc = le32(&hdr[16]);
    if (header_size < 92 || header_size > m.block) return std::nullopt;
    std::memset(&hdr[16], 0, 4);
    if (crc32(hdr.data(), header_size) != crc || le64(&hdr[24]) != lba) return std::nullopt;
    GptTable t;
    t.first_usable = le64(&hdr[40]);
    t.last_usable = le64(&hdr[48]);
    t.entries_lba = le64(&hdr[72]);
    t.count = le32(&hdr[80]);
    t.entry_size = le32(&hdr[84]);
    if (t.entry_size < 128 || uint64_t{t.count} * t.entry_size > (64u << 20)) return std::nullopt;
    std::vector<unsigned char> entries(size_t{t.count} * t.entry_size);
    auto all = read(m, t.entries_lba * m.block, entries.data(), entries.size());
    if (!all) return fail(all.error());
    if (!*all) return std::nullopt;  // the firmware cannot read the array
    t.array_crc_ok = crc32(entries.data(), entries.size()) == le32(&hdr[88]);
    return t;
  }

  Status gpt_entries(const Medium& m, const GptTable& t, const std::string& which, std::vector<Medium>& children) {
    std::vector<unsigned char> entries(size_t{t.count} * t.entry_size);
    auto got = read(m, t.entries_lba * m.block, entries.data(), entries.size());
    if (!got) return fail(got.error());
    auto at = [&](uint32_t i) { return &entries[size_t{i} * t.entry_size]; };
    for (uint32_t i = 0; i < t.count; ++i) {
      const unsigned char* e = at(i);
      if (std::memcmp(e, k_unused_guid, 16) == 0) continue;
      uint64_t first = le64(e + 32), last = le64(e + 40);
      if (first > last || first < t.first_usable || first > t.last_usable || last < t.first_usable || last > t.last_usable)
        continue;                      // OutOfRange
      if (le64(e + 48) & 2) continue;  // OsSpecific (attribute bit 1)
      bool overlap = false;
      for (uint32_t j = 0; j < t.count && !overlap; ++j) {
        const unsigned char* o = at(j);
        if (j == i || std::memcmp(o, k_unused_guid, 16) == 0) continue;
        overlap = le64(o + 40) >= first && le64(o + 32) <= last;
      }
      if (overlap) continue;
      children.push_back(child(m, first * m.block, (last - first + 1) * m.block, m.block, true,
                               "GPT partition " + std::to_string(i + 1) + which));
    }
    return {};
  }

  Result<bool> gpt(const Medium& m, std::vector<Medium>& children) {
    std::array<unsigned char, 512> pmbr{};
    auto got = read(m, 0, pmbr.data(), pmbr.size());
    if (!got) return fail(got.error());
    if (!*got) return false;
    bool protective = false;
    for (int i = 0; i < 4; ++i)
      protective = protective || (pmbr[446 + 16 * i + 4] == k_mbr_type_gpt && le32(&pmbr[446 + 16 * i + 8]) == 1);
    if (!protective) return false;
    uint64_t last_lba = m.size / m.block - 1;
    auto primary = gpt_header(m, 1);
    if (!primary) return fail(primary.error());
    auto backup = gpt_header(m, last_lba);
    if (!backup) return fail(backup.error());
    bool primary_whole = *primary && (*primary)->array_crc_ok;
    bool backup_whole = *backup && (*backup)->array_crc_ok;
    if (!primary_whole && !backup_whole) return false;
    // The primary's entries whenever its header holds (read as they are on a read-only
    // medium), the backup's when it is whole (written back over the primary otherwise).
    if (*primary)
      if (auto st = gpt_entries(m, **primary, "", children); !st) return fail(st.error());
    if (backup_whole)
      if (auto st = gpt_entries(m, **backup, " (backup table)", children); !st) return fail(st.error());
    return true;
  }

  Result<bool> el_torito(const Medium& m, std::vector<Medium>& children) {
    if (k_cd_block % m.block != 0 || m.block > k_cd_block) return false;
    const uint64_t per = k_cd_block / m.block;
    const uint64_t last_block = m.size / m.block - 1;
    bool found = false;
    uint64_t volume_blocks = 0;  // VolSpaceSize of the primary volume descriptor, in 2048-byte blocks
    std::array<unsigned char, 2048> vd{};
    for (uint64_t at = 32 * 1024; at + k_cd_block <= m.size; at += k_cd_block) {
      auto got = read(m, at, vd.data(), vd.size());
      if (!got) return fail(got.error());
      if (!*got || vd[0] == 0xFF || std::memcmp(&vd[1], "CD001", 5) != 0) break;
      if (vd[0] == 1) volume_blocks = le32(&vd[80]);
      if (std::memcmp(&vd[7], "EL TORITO SPECIFICATION", 23) != 0) continue;
      uint64_t catalog = le32(&vd[0x47]);
      if (catalog * per > last_block) continue;
      std::vector<unsigned char> cat(m.block);
      got = read(m, catalog * k_cd_block, cat.data(), cat.size());
      if (!got) return fail(got.error());
      if (!*got || cat.size() < 32 || cat[0] != 0x01 || cat[30] != 0x55 || cat[31] != 0xAA) continue;
      uint16_t sum = 0;
      for (size_t i = 0; i < 32; i += 2) sum = static_cast<uint16_t>(sum + le16(&cat[i]));
      if (sum != 0) continue;
      for (size_t index = 1; index < cat.size() / 32; ++index) {
        const unsigned char* e = &cat[index * 32];
        uint64_t lba = le32(e + 8);
        if (e[0] != 0x88 || lba == 0) continue;
        uint64_t count = le16(e + 6), sub_block = 512;
        switch (e[1] & 0x0F) {
        case 0: sub_block = m.block; break;         // no emulation
        case 4: break;                              // hard disk
        case 1: count = 0x50 * 0x02 * 0x0F; break;  // 1.2 MB diskette
        case 2: count = 0x50 * 0x02 * 0x12; break;  // 1.44 MB
        case 3: count = 0x50 * 0x02 * 0x24; break;  // 2.88 MB
        default: count = 0, sub_block = m.block; break;
        }
        uint64_t blocks;
        if (count < 2)
          blocks = volume_blocks * per > last_block + 1 ? last_block - lba * per + 1
                                                        : static_cast<uint32_t>(volume_blocks - lba) * per;
        else
          blocks = (count * per * sub_block + m.block - 1) / m.block;
        children.push_back(
            child(m, lba * k_cd_block, blocks * m.block, sub_block, false, "El Torito entry " + std::to_string(index)));
        found = true;
      }
    }
    return found;
  }

  Status mbr(const Medium& m, std::vector<Medium>& children) {
    std::array<unsigned char, 512> s{};
    auto got = read(m, 0, s.data(), s.size());
    if (!got) return fail(got.error());
    if (!*got || !valid_mbr(s, m.size / k_sector - 1)) return {};
    if (!m.in_partition_table) {
      for (int i = 0; i < 4; ++i) {
        const unsigned char* p = &s[446 + 16 * i];
        uint64_t start = le32(p + 8), size = le32(p + 12);
        if (p[4] == 0 || size == 0 || p[4] == k_mbr_type_gpt) continue;
        char type[8];
        std::snprintf(type, sizeof type, "0x%02x", p[4]);
        children.push_back(child(m, start * k_sector, size * k_sector, k_sector, true,
                                 "MBR partition " + std::to_string(i + 1) + " (type " + type + ")"));
      }
      return {};
    }
    // Inside a partition: the chain of extended boot records (Mbr.c, the else branch).
    uint64_t ext = 0;
    for (int index = 1; index <= 128; ++index) {
      got = read(m, ext * k_sector, s.data(), s.size());
      if (!got) return fail(got.error());
      if (!*got || le32(&s[446 + 12]) == 0) break;
      auto is_extended = [](uint8_t t) { return t == 0x05 || t == 0x0F; };
      if (is_extended(s[446 + 4])) {
        ext = le32(&s[446 + 8]);
        if (ext == 0) break;
        continue;
      }
      uint64_t start = le32(&s[446 + 8]) + ext, size = le32(&s[446 + 12]);
      if (start == 0 || (start + size - 1) * k_sector >= m.size) break;
      children.push_back(
          child(m, start * k_sector, size * k_sector, k_sector, true, "logical partition " + std::to_string(index)));
      if (!is_extended(s[446 + 16 + 4])) break;
      ext = le32(&s[446 + 16 + 8]);
      if (ext == 0) break;
    }
    return {};
  }

  // PartitionValidMbr.
  static bool valid_mbr(const std::array<unsigned char, 512>& s, uint64_t last_lba) {
    if (s[510] != 0x55 || s[511] != 0xAA) return false;
    bool any = false;
    for (int i = 0; i < 4; ++i) {
      const unsigned char* p = &s[446 + 16 * i];
      if (p[4] == 0 || le32(p + 12) == 0) continue;
      any = true;
      uint64_t start = le32(p + 8), end = start + le32(p + 12) - 1;
      if (end > last_lba) return false;
      for (int j = i + 1; j < 4; ++j) {
        const unsigned char* q = &s[446 + 16 * j];
        if (q[4] == 0 || le32(q + 12) == 0) continue;
        uint64_t qs = le32(q + 8), qe = qs + le32(q + 12) - 1;
        if (qe >= start && qs <= end) return false;
      }
    }
    return any;
  }

  const RandomAccess& m_image;
  std::vector<EspLocation>& m_out;
};

}  // namespace

Result<std::vector<EspLocation>> find_firmware_partitions(const RandomAccess& image) {
  std::vector<EspLocation> out;
  Scanner scanner(image, out);
  for (uint64_t block : {k_sector, k_cd_block}) {
    Medium whole;
    whole.size = image.size();
    whole.block = block;
    whole.source = "the whole image";
    if (auto st = scanner.scan(whole, 0); !st) return fail(st.error());
  }
  return out;
}

}  // namespace sbpipe

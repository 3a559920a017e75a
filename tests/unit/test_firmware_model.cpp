// Unit tests of what sbpipe models of the firmware beside the signature:
// FAT names and directories as FatPkg reads them (iso/fat.h), the places
// PartitionDxe finds (iso/esp.h) and the db/dbx files (signature_db.h), on
// images built byte by byte here. The firmware itself judges the same
// classes in the boot corpus (tests/boot, docs/boot.md).

#include <doctest/doctest.h>

#include <algorithm>

#include "core/random_access.h"
#include "iso/esp.h"
#include "iso/fat.h"
#include "secureboot/signature_db.h"
#include "support/le_bytes.h"

namespace sbpipe {
namespace {

using test::put16;
using test::put32;
using test::put64;

// A FAT12 volume of 64 sectors of 512 bytes: 1 reserved, 1 FAT, a root
// directory of 16 entries (sector 2), clusters of one sector from sector 3.
class Fat12 {
public:
  Fat12() : m_bytes(64 * 512, '\0') {
    m_bytes[0] = '\xEB';
    put16(m_bytes, 11, 512);
    m_bytes[13] = 1;
    put16(m_bytes, 14, 1);
    m_bytes[16] = 1;
    put16(m_bytes, 17, 16);
    put16(m_bytes, 19, 64);
    m_bytes[21] = '\xF8';
    put16(m_bytes, 22, 1);
    m_bytes[510] = 0x55;
    m_bytes[511] = '\xAA';
    set_fat(0, 0xFF8);
    set_fat(1, 0xFFF);
  }
  // A directory entry (11-byte raw name) at `slot` of the directory at
  // `dir` (0: the root).
  void entry(uint32_t dir, size_t slot, std::string_view raw, uint8_t attributes, uint32_t cluster, uint32_t size) {
    std::string& d = m_bytes;
    size_t at = where(dir) + slot * 32;
    std::copy(raw.begin(), raw.end(), d.begin() + static_cast<long>(at));
    d[at + 11] = static_cast<char>(attributes);
    put16(d, at + 26, static_cast<uint16_t>(cluster));
    put32(d, at + 28, size);
  }
  // Long-name parts for `name` (up to 13 characters per part) before the
  // short entry at `slot`, checksum of `raw`; `tweak` edits each part.
  void long_name(uint32_t dir, size_t slot, std::u16string_view name, std::string_view raw,
                 void (*tweak)(std::string&, size_t) = nullptr) {
    uint8_t sum = 0;
    for (char c : raw) sum = static_cast<uint8_t>(((sum & 1) << 7) + (sum >> 1) + static_cast<uint8_t>(c));
    size_t parts = (name.size() + 12) / 13;
    static constexpr int k_offsets[] = {1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30};
    for (size_t p = 0; p < parts; ++p) {
      size_t at = where(dir) + (slot - 1 - p) * 32;
      m_bytes[at] = static_cast<char>((p + 1) | (p + 1 == parts ? 0x40 : 0));
      m_bytes[at + 11] = 0x0F;
      m_bytes[at + 13] = static_cast<char>(sum);
      for (int i = 0; i < 13; ++i) {
        size_t k = p * 13 + static_cast<size_t>(i);
        uint16_t c = k < name.size() ? name[k] : k == name.size() ? 0 : 0xFFFF;
        put16(m_bytes, at + static_cast<size_t>(k_offsets[i]), c);
      }
      if (tweak) tweak(m_bytes, at);
    }
  }
  void set_fat(uint32_t cluster, uint16_t value) {
    size_t at = 512 + cluster + cluster / 2;
    uint16_t old = static_cast<uint16_t>(static_cast<uint8_t>(m_bytes[at]) | static_cast<uint8_t>(m_bytes[at + 1]) << 8);
    uint16_t v = (cluster & 1) ? static_cast<uint16_t>((old & 0x000F) | (value << 4))
                               : static_cast<uint16_t>((old & 0xF000) | (value & 0x0FFF));
    put16(m_bytes, at, v);
  }
  // A one-cluster file's content.
  void content(uint32_t cluster, std::string_view text) {
    set_fat(cluster, 0xFFF);
    std::copy(text.begin(), text.end(), m_bytes.begin() + static_cast<long>(where(cluster)));
  }
  const std::string& bytes() const { return m_bytes; }

private:
  size_t where(uint32_t cluster) const { return cluster == 0 ? 2 * 512 : (3 + cluster - 2) * 512; }
  std::string m_bytes;
};

// EFI/ (cluster 2) and EFI/BOOT/ (cluster 3) with "." and ".." entries.
Fat12 with_boot_dir() {
  Fat12 fat;
  fat.entry(0, 0, "EFI        ", 0x10, 2, 0);
  fat.set_fat(2, 0xFFF);
  fat.set_fat(3, 0xFFF);
  fat.entry(2, 0, ".          ", 0x10, 2, 0);
  fat.entry(2, 1, "..         ", 0x10, 0, 0);
  fat.entry(2, 2, "BOOT       ", 0x10, 3, 0);
  fat.entry(3, 0, ".          ", 0x10, 3, 0);
  fat.entry(3, 1, "..         ", 0x10, 2, 0);
  return fat;
}

std::string read_found(const FatVolume& v, std::string_view path) {
  auto f = v.find(path);
  REQUIRE_MESSAGE(f.has_value(), f.error().message());
  if (!*f) return "(none)";
  auto text = v.read(**f, 4096);
  REQUIRE_MESSAGE(text.has_value(), text.error().message());
  return *text;
}

}  // namespace

TEST_SUITE("unit") {
TEST_CASE("FAT: names and directories as FatPkg reads them") {
  SUBCASE("a file is opened by its 8.3 name even when its long name is another") {
    Fat12 fat = with_boot_dir();
    fat.long_name(3, 3, u"notes.txt", "BOOTX64 EFI");
    fat.entry(3, 3, "BOOTX64 EFI", 0x20, 4, 6);
    fat.content(4, "hidden");
    MemoryRandomAccess file(fat.bytes());
    auto v = FatVolume::open(file, 0, file.size(), "esp");
    REQUIRE_MESSAGE(v.has_value(), v.error().message());
    CHECK(read_found(*v, "\\EFI\\BOOT\\BOOTX64.EFI") == "hidden");
    CHECK(read_found(*v, "efi/boot/NOTES.TXT") == "hidden");
    auto files = v->files();
    REQUIRE(files.has_value());
    REQUIRE(files->size() == 1);
    CHECK((*files)[0].path == "EFI/BOOT/notes.txt");
    CHECK((*files)[0].short_path == "EFI/BOOT/BOOTX64.EFI");
    CHECK(std::find((*files)[0].spellings.begin(), (*files)[0].spellings.end(), "EFI/BOOT/BOOTX64.EFI") !=
          (*files)[0].spellings.end());
  }
  SUBCASE("the first entry that matches wins, by long name or 8.3 name") {
    Fat12 fat = with_boot_dir();
    fat.entry(3, 2, "BOOTX64 EFI", 0x20, 4, 5);
    fat.content(4, "first");
    fat.long_name(3, 4, u"bootx64.efi", "BOOTX6~1EFI");
    fat.entry(3, 4, "BOOTX6~1EFI", 0x20, 5, 6);
    fat.content(5, "second");
    MemoryRandomAccess file(fat.bytes());
    auto v = FatVolume::open(file, 0, file.size(), "esp");
    REQUIRE(v.has_value());
    CHECK(read_found(*v, "EFI/BOOT/BootX64.efi") == "first");
    CHECK(v->files()->size() == 2);  // both listed, both gated
  }
  SUBCASE("a long name is dropped unless every part is well formed") {
    using Tweak = void (*)(std::string&, size_t);
    const std::pair<const char*, Tweak> broken[] = {
        {"attribute 0x1F", [](std::string& d, size_t at) { d[at + 11] = 0x1F; }},
        {"cluster field not 0", [](std::string& d, size_t at) { d[at + 26] = 1; }},
        {"wrong checksum", [](std::string& d, size_t at) { d[at + 13] = static_cast<char>(d[at + 13] + 1); }},
        {"ordinal 0x81", [](std::string& d, size_t at) { d[at] = static_cast<char>(0x81 | (d[at] & 0x40)); }},
    };
    for (const auto& [what, tweak] : broken) {
      CAPTURE(what);
      Fat12 fat = with_boot_dir();
      fat.long_name(3, 3, u"shim.efi", "GRUBX64 EFI", tweak);
      fat.entry(3, 3, "GRUBX64 EFI", 0x20, 4, 1);
      fat.content(4, "g");
      MemoryRandomAccess file(fat.bytes());
      auto v = FatVolume::open(file, 0, file.size(), "esp");
      REQUIRE(v.has_value());
      CHECK(read_found(*v, "EFI/BOOT/shim.efi") == "(none)");
      CHECK(read_found(*v, "EFI/BOOT/GRUBX64.EFI") == "g");
      CHECK(v->files()->at(0).path == "EFI/BOOT/GRUBX64.EFI");
    }
  }
  SUBCASE("a long name ends at its first NUL, not at 0xFFFF") {
    Fat12 fat = with_boot_dir();
    fat.long_name(3, 3, u"a.efi\uFFFF", "A       EFI");
    fat.entry(3, 3, "A       EFI", 0x20, 4, 1);
    fat.content(4, "a");
    MemoryRandomAccess file(fat.bytes());
    auto v = FatVolume::open(file, 0, file.size(), "esp");
    REQUIRE(v.has_value());
    CHECK(v->files()->at(0).path == "EFI/BOOT/a.efi\xEF\xBF\xBF");
  }
  SUBCASE("the directory goes on past a zero first byte carrying the volume bit") {
    Fat12 fat = with_boot_dir();
    fat.entry(3, 2, std::string(11, '\0'), 0x0F, 0, 0);  // a long-name-like entry starting with 0
    fat.entry(3, 3, "BOOTX64 EFI", 0x20, 4, 4);
    fat.content(4, "late");
    MemoryRandomAccess file(fat.bytes());
    auto v = FatVolume::open(file, 0, file.size(), "esp");
    REQUIRE(v.has_value());
    CHECK(read_found(*v, "EFI/BOOT/BOOTX64.EFI") == "late");
    CHECK(v->files()->size() == 1);
  }
  SUBCASE("a plain zero first byte ends it") {
    Fat12 fat = with_boot_dir();
    fat.entry(3, 2, std::string(11, '\0'), 0x20, 0, 0);
    fat.entry(3, 3, "BOOTX64 EFI", 0x20, 4, 4);
    MemoryRandomAccess file(fat.bytes());
    auto v = FatVolume::open(file, 0, file.size(), "esp");
    REQUIRE(v.has_value());
    CHECK(read_found(*v, "EFI/BOOT/BOOTX64.EFI") == "(none)");
  }
  SUBCASE("what the firmware does not mount is not_found, what it mounts but sbpipe cannot read fails") {
    Fat12 fat;
    std::string no_fs = fat.bytes();
    no_fs[21] = 0x12;  // media byte FatOpenDevice refuses
    MemoryRandomAccess a(no_fs);
    CHECK(FatVolume::open(a, 0, a.size(), "p").error().kind() == ErrorKind::not_found);
    MemoryRandomAccess b(fat.bytes());
    auto small = FatVolume::open(b, 0, 16 * 512, "p");
    CHECK(small.error().kind() == ErrorKind::invalid_input);
    CHECK(small.error().message() ==
          "p: not a readable FAT file system: the boot sector describes 32768 bytes, more than the image holds");
  }
  SUBCASE("8.3 forms") {
    CHECK(fat_short_form(u"bootx64.efi") == std::optional<std::string>("BOOTX64 EFI"));
    CHECK(fat_short_form(u"EFI") == std::optional<std::string>("EFI        "));
    CHECK_FALSE(fat_short_form(u"toolongname.efi"));
    CHECK_FALSE(fat_short_form(u"a.b.efi"));
    CHECK_FALSE(fat_short_form(u"a b.efi"));
  }
}

namespace {

std::vector<std::string> sources(const std::string& image) {
  MemoryRandomAccess file(image);
  auto found = find_firmware_partitions(file);
  REQUIRE_MESSAGE(found.has_value(), found.error().message());
  std::vector<std::string> out;
  for (const auto& p : *found) out.push_back(p.source + "@" + std::to_string(p.offset));
  return out;
}

void mbr_entry(std::string& d, int index, uint8_t type, uint32_t start, uint32_t sectors) {
  size_t at = 446 + 16 * static_cast<size_t>(index);
  d[at + 4] = static_cast<char>(type);
  put32(d, at + 8, start);
  put32(d, at + 12, sectors);
  d[510] = 0x55;
  d[511] = '\xAA';
}

uint32_t crc32_of(std::string_view s) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
  }
  return c ^ 0xFFFFFFFFu;
}

// A GPT header at `lba` of a 128-sector disk, entries at `entries_lba`.
void gpt_header(std::string& d, uint64_t lba, uint64_t alternate, uint64_t entries_lba, const std::string& entries) {
  std::string h(92, '\0');
  std::copy_n("EFI PART", 8, h.begin());
  put32(h, 8, 0x00010000);
  put32(h, 12, 92);
  put64(h, 24, lba);
  put64(h, 32, alternate);
  put64(h, 40, 34);
  put64(h, 48, 93);
  put64(h, 72, entries_lba);
  put32(h, 80, static_cast<uint32_t>(entries.size() / 128));
  put32(h, 84, 128);
  put32(h, 88, crc32_of(entries));
  put32(h, 16, crc32_of(h));
  std::copy(h.begin(), h.end(), d.begin() + static_cast<long>(lba * 512));
  std::copy(entries.begin(), entries.end(), d.begin() + static_cast<long>(entries_lba * 512));
}

std::string gpt_entry(uint64_t first, uint64_t last, uint64_t attributes = 0) {
  std::string e(128, '\0');
  e[0] = 0x42;  // any used type
  put64(e, 32, first);
  put64(e, 40, last);
  put64(e, 48, attributes);
  return e;
}

}  // namespace

TEST_CASE("partitions: where PartitionDxe finds file systems") {
  SUBCASE("every MBR entry of non-zero type, not only 0xEF") {
    std::string d(128 * 512, '\0');
    mbr_entry(d, 0, 0x0C, 8, 16);
    mbr_entry(d, 2, 0x83, 40, 8);
    CHECK(sources(d) ==
          std::vector<std::string>{"the whole image@0", "MBR partition 1 (type 0x0c)@4096", "MBR partition 3 (type 0x83)@20480"});
  }
  SUBCASE("an MBR whose entries overlap or leave the disk holds nothing") {
    std::string d(128 * 512, '\0');
    mbr_entry(d, 0, 0xEF, 8, 16);
    mbr_entry(d, 1, 0xEF, 20, 16);
    CHECK(sources(d).size() == 1);
    std::string out(128 * 512, '\0');
    mbr_entry(out, 0, 0xEF, 8, 1000);
    CHECK(sources(out).size() == 1);
  }
  SUBCASE("GPT: every used entry in range; the backup when the primary header is damaged") {
    std::string d(128 * 512, '\0');
    mbr_entry(d, 0, 0xEE, 1, 127);
    std::string entries = gpt_entry(40, 47) + gpt_entry(48, 55, 2) + gpt_entry(60, 200) + std::string(128, '\0');
    gpt_header(d, 1, 127, 2, entries);
    gpt_header(d, 127, 1, 95, gpt_entry(70, 79) + std::string(3 * 128, '\0'));
    CHECK(sources(d) ==
          std::vector<std::string>{"the whole image@0", "GPT partition 1@20480", "GPT partition 1 (backup table)@35840"});
    d[512 + 100] ^= 1;  // outside the 92 header bytes: no effect
    d[512 + 60] ^= 1;   // inside: the primary header's CRC fails
    CHECK(sources(d) == std::vector<std::string>{"the whole image@0", "GPT partition 1 (backup table)@35840"});
  }
  SUBCASE("El Torito: every 0x88 slot, whatever the platform or section header; a bad checksum skips the catalog") {
    std::string d(64 * 2048, '\0');
    auto vd = [&](size_t sector, uint8_t type, std::string_view id) {
      size_t at = sector * 2048;
      d[at] = static_cast<char>(type);
      std::copy_n("CD001", 5, d.begin() + static_cast<long>(at + 1));
      std::copy(id.begin(), id.end(), d.begin() + static_cast<long>(at + 7));
    };
    vd(16, 1, "");
    put32(d, 16 * 2048 + 80, 64);
    vd(17, 0, "EL TORITO SPECIFICATION");
    put32(d, 17 * 2048 + 0x47, 20);
    vd(18, 0xFF, "");
    size_t cat = 20 * 2048;
    d[cat] = 1;  // validation entry, platform x86
    d[cat + 30] = 0x55;
    d[cat + 31] = '\xAA';
    uint16_t sum = 0;
    for (size_t i = 0; i < 32; i += 2)
      sum = static_cast<uint16_t>(sum + (static_cast<uint8_t>(d[cat + i]) | static_cast<uint8_t>(d[cat + i + 1]) << 8));
    put16(d, cat + 28, static_cast<uint16_t>(-sum));
    d[cat + 32] = '\x88';  // the default entry
    put16(d, cat + 32 + 6, 4);
    put32(d, cat + 32 + 8, 30);
    d[cat + 64] = 0x00;    // not a section header
    d[cat + 96] = '\x88';  // still an entry to the firmware
    put16(d, cat + 96 + 6, 4);
    put32(d, cat + 96 + 8, 40);
    CHECK(sources(d) == std::vector<std::string>{"the whole image@0", "El Torito entry 1@61440", "El Torito entry 3@81920"});
    d[cat + 5] = 1;  // the checksum no longer holds
    CHECK(sources(d).size() == 1);
  }
}

TEST_CASE("signature databases: --cert, --db and --dbx files") {
  auto guid = [](std::string_view text) {
    std::string hex;
    for (char c : text)
      if (c != '-') hex += c;
    std::string b(16, '\0');
    int order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
    for (int i = 0; i < 16; ++i)
      b[static_cast<size_t>(i)] = static_cast<char>(std::stoi(hex.substr(static_cast<size_t>(order[i]) * 2, 2), nullptr, 16));
    return b;
  };
  auto list = [&](std::string_view type, const std::vector<std::string>& entries) {
    uint32_t size = static_cast<uint32_t>(16 + entries.front().size());
    std::string l = guid(type) + std::string(12, '\0');
    put32(l, 16, static_cast<uint32_t>(28 + entries.size() * size));
    put32(l, 24, size);
    for (const auto& e : entries) l += guid("11111111-2222-3333-4444-123456789abc") + e;
    return l;
  };
  const std::string sha256_list = list("c1c41626-504c-4092-aca9-41f936934328", {std::string(32, 'a'), std::string(32, 'b')});
  const std::string x509_sha256 = list("3bd2a492-96c0-4079-b420-fcf98ef103ed", {std::string(32, 't') + std::string(16, '\0')});
  const std::string unknown = list("00000000-0000-0000-0000-000000000001", {"xyz"});

  SUBCASE("an .esl: image digests, certificate digests, other types left out") {
    auto db = parse_signature_database(sha256_list + x509_sha256 + unknown, "--db db.esl");
    REQUIRE_MESSAGE(db.has_value(), db.error().message());
    CHECK(db->certificates.empty());
    CHECK(db->image_digests.size() == 2);
    CHECK(db->has_image_digest("sha256", std::string(32, 'b')));
    CHECK_FALSE(db->has_image_digest("sha384", std::string(32, 'b')));
    REQUIRE(db->cert_digests.size() == 1);
    CHECK(db->cert_digests[0].revoked_always);
    CHECK(db->summary() == "0 certificates, 2 image digest(s), 1 certificate digest(s)");
  }
  SUBCASE("a digest entry of the wrong size is refused") {
    auto bad = parse_signature_database(list("c1c41626-504c-4092-aca9-41f936934328", {std::string(33, 'a')}), "--db x");
    CHECK(bad.error().message().ends_with("EFI signature list 1: SHA-256 entries must be 48 bytes"));
  }
  SUBCASE("neither PEM, .auth nor .esl") {
    auto bad = parse_signature_database("hello world, this is not a database", "--db notes.txt");
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error().message().starts_with(
        "--db notes.txt: neither PEM certificates, an authenticated variable (.auth) nor a signature list (.esl)"));
  }
}

}  // TEST_SUITE("unit")
}  // namespace sbpipe

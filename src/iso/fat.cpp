#include "iso/fat.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <set>

#include "core/bytes.h"
#include "core/stream.h"

namespace sbpipe {
namespace {

// Microsoft "FAT: General Overview of On-Disk Format" (fatgen103): BPB
// offsets, directory entry layout, long-name entries; the cluster-count
// limits EDK2 uses (FatPkg/EnhancedFatDxe, FAT_MAX_FAT12_CLUSTER).
constexpr uint32_t k_max_fat12_clusters = 4085;
constexpr size_t k_entry = 32;
constexpr int k_max_depth = 32;
constexpr size_t k_max_entries = 100000;
constexpr uint8_t k_attr_directory = 0x10;
constexpr uint8_t k_attr_volume = 0x08;
constexpr uint8_t k_attr_long_name = 0x0F;
constexpr uint8_t k_max_lfn_entries = 20;  // FatFileSystem.h MAX_LFN_ENTRIES

bool power_of_two(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

// UTF-16 code units of a long-name entry to UTF-8 (BMP only; a surrogate
// pair becomes two replacement marks, enough for comparing ASCII paths).
void append_utf8(std::string& out, uint16_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | c >> 6);
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | c >> 12);
    out += static_cast<char>(0x80 | (c >> 6 & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

uint8_t short_name_checksum(const unsigned char* name) {
  uint8_t sum = 0;
  for (int i = 0; i < 11; ++i) sum = static_cast<uint8_t>(((sum & 1) << 7) + (sum >> 1) + name[i]);
  return sum;
}

// FatNameToStr: one part of an 8.3 name, trailing blanks trimmed, lower
// case when its case flag says so.
std::u16string name_part(const unsigned char* p, size_t n, bool lower) {
  while (n > 0 && p[n - 1] == ' ') --n;
  std::u16string s;
  for (size_t i = 0; i < n; ++i) {
    char16_t c = p[i];
    if (lower && c >= 'A' && c <= 'Z') c = static_cast<char16_t>(c + 32);
    s += c;
  }
  return s;
}

// FatGetFileNameViaCaseFlag (byte 12: 0x08 lower-case base, 0x10 lower-case extension).
std::u16string case_flag_name(const unsigned char* e, bool use_flags) {
  std::u16string base = name_part(e, 8, use_flags && (e[12] & 0x08) != 0);
  std::u16string ext = name_part(e + 8, 3, use_flags && (e[12] & 0x10) != 0);
  return ext.empty() ? base : base + u"." + ext;
}

// The upper-case map of EDK2's English collation (MdeModulePkg/Universal/
// Disk/UnicodeCollation/EnglishDxe/UnicodeCollationEng.c mEngUpperMap):
// ASCII letters and the Latin-1 lower-case letters.
char16_t fold(char16_t c) {
  if (c >= 'a' && c <= 'z') return static_cast<char16_t>(c - 32);
  if (c >= 0xE0 && c <= 0xFE && c != 0xF7) return static_cast<char16_t>(c - 32);
  return c;
}

bool same_name(std::u16string_view a, std::u16string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (fold(a[i]) != fold(b[i])) return false;
  return true;
}

std::string utf8(std::u16string_view s) {
  std::string out;
  for (char16_t c : s) append_utf8(out, static_cast<uint16_t>(c));
  return out;
}

std::u16string utf16(std::string_view s) {
  // Boot paths are ASCII; other bytes are taken one by one (Latin-1).
  std::u16string out;
  for (unsigned char c : s) out += static_cast<char16_t>(c);
  return out;
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> parts;
  std::string cur;
  for (char c : path) {
    if (c == '/' || c == '\\') {
      if (!cur.empty()) parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) parts.push_back(cur);
  return parts;
}

constexpr size_t k_max_spellings = 64;

}  // namespace

std::unexpected<Error> FatVolume::damaged(const std::string& why) const {
  return fail(ErrorKind::invalid_input, m_label + ": not a readable FAT file system: " + why);
}

Result<FatVolume> FatVolume::open(const RandomAccess& file, uint64_t offset, uint64_t size, std::string label) {
  FatVolume v(file, std::move(label));
  // What EDK2 does not mount (FatOpenDevice, FatPkg/EnhancedFatDxe/Init.c) is no
  // file system to the firmware: not_found, and nothing boots from it.
  auto not_fat = [&](const std::string& why) {
    return fail(ErrorKind::not_found, v.m_label + ": no FAT file system the firmware mounts (" + why + ")");
  };
  std::array<unsigned char, 512> bs{};
  if (!range_fits(offset, bs.size(), file.size()) || size < bs.size()) return not_fat("shorter than a boot sector");
  if (auto st = file.read_at(offset, std::span<char>(reinterpret_cast<char*>(bs.data()), bs.size())); !st)
    return fail(st.error());
  uint32_t bps = le16(&bs[11]), spc = bs[13], reserved = le16(&bs[14]), fats = bs[16], root_entries = le16(&bs[17]);
  uint32_t total16 = le16(&bs[19]), fat16 = le16(&bs[22]), total32 = le32(&bs[32]), fat32 = le32(&bs[36]);
  uint8_t media = bs[21];
  uint64_t total = total16 != 0 ? total16 : total32;
  uint64_t fat_sectors = fat16 != 0 ? fat16 : fat32;
  bool is_fat32 = fat16 == 0;
  if (reserved == 0 || fats == 0 || total == 0) return not_fat("no reserved sectors, FAT or sectors");
  if (!power_of_two(bps) || bps < 512 || bps > 4096) return not_fat("bytes per sector " + std::to_string(bps));
  if (!power_of_two(spc) || spc > 128) return not_fat("sectors per cluster " + std::to_string(spc));
  if (media <= 0xF7 && media != 0xF0 && media != 0x00 && media != 0x01) return not_fat("media byte " + std::to_string(media));
  if (!is_fat32 && root_entries == 0) return not_fat("a FAT12/16 volume without root entries");
  if (is_fat32 && (fat_sectors == 0 || le16(&bs[42]) != 0 || (le16(&bs[40]) & 0x80) != 0))
    return not_fat("a FAT32 volume of another version or with the active FAT flag");
  uint64_t root_sectors = is_fat32 ? 0 : (uint64_t{root_entries} * k_entry + bps - 1) / bps;
  uint64_t first_data = reserved + uint64_t{fats} * fat_sectors + root_sectors;
  if (total <= first_data) return not_fat("the FATs and root directory fill the volume");
  uint64_t clusters = (total - first_data) / spc;
  if (!is_fat32 && clusters >= 0xFFF5) return not_fat("FAT12/16 with " + std::to_string(clusters) + " clusters");
  if (is_fat32 && clusters < 0xFFF5) return not_fat("FAT32 with " + std::to_string(clusters) + " clusters");
  // Mounted by the firmware: from here on, what sbpipe cannot read fails closed.
  v.m_total_bytes = total * bps;
  if (v.m_total_bytes > size || !range_fits(offset, v.m_total_bytes, file.size()))
    return v.damaged("the boot sector describes " + std::to_string(v.m_total_bytes) + " bytes, more than the image holds");
  if (clusters == 0 || clusters > 0x0FFFFFF5) return v.damaged("a cluster count of " + std::to_string(clusters));
  v.m_offset = offset;
  v.m_bytes_per_sector = bps;
  v.m_cluster_bytes = bps * spc;
  v.m_fat_offset = uint64_t{reserved} * bps;
  v.m_root_offset = (reserved + uint64_t{fats} * fat_sectors) * bps;
  v.m_root_bytes = static_cast<uint32_t>(root_sectors * bps);
  v.m_data_offset = first_data * bps;
  v.m_cluster_count = static_cast<uint32_t>(clusters);
  v.m_fat_bits = is_fat32 ? 32 : clusters < k_max_fat12_clusters ? 12 : 16;
  // The FAT must hold an entry for every cluster.
  if (fat_sectors * bps * 8 < (uint64_t{v.m_cluster_count} + 2) * static_cast<uint64_t>(v.m_fat_bits))
    return v.damaged("the FAT is too small for its clusters");
  if (is_fat32) {
    v.m_root_cluster = le32(&bs[44]);
    if (v.m_root_cluster < 2 || v.m_root_cluster >= v.m_cluster_count + 2)
      return v.damaged("the root directory cluster is outside the volume");
  }
  return v;
}

uint64_t FatVolume::cluster_offset(uint32_t cluster) const {
  return m_offset + m_data_offset + uint64_t{cluster - 2} * m_cluster_bytes;
}

Result<uint32_t> FatVolume::next_cluster(uint32_t cluster) const {
  uint64_t at = m_offset + m_fat_offset;
  std::array<unsigned char, 4> raw{};
  if (m_fat_bits == 12) {
    at += cluster + cluster / 2;
    if (auto st = m_file->read_at(at, std::span<char>(reinterpret_cast<char*>(raw.data()), 2)); !st) return fail(st.error());
    uint16_t v = le16(raw.data());
    uint32_t next = (cluster & 1) ? v >> 4 : v & 0x0FFF;
    return next >= 0xFF8 ? 0xFFFFFFFFu : next == 0xFF7 ? 0xFFFFFFF7u : next;
  }
  if (m_fat_bits == 16) {
    at += uint64_t{cluster} * 2;
    if (auto st = m_file->read_at(at, std::span<char>(reinterpret_cast<char*>(raw.data()), 2)); !st) return fail(st.error());
    uint32_t next = le16(raw.data());
    return next >= 0xFFF8 ? 0xFFFFFFFFu : next == 0xFFF7 ? 0xFFFFFFF7u : next;
  }
  at += uint64_t{cluster} * 4;
  if (auto st = m_file->read_at(at, std::span<char>(reinterpret_cast<char*>(raw.data()), 4)); !st) return fail(st.error());
  uint32_t next = le32(raw.data()) & 0x0FFFFFFF;
  return next >= 0x0FFFFFF8 ? 0xFFFFFFFFu : next == 0x0FFFFFF7 ? 0xFFFFFFF7u : next;
}

Result<std::vector<uint32_t>> FatVolume::chain(uint32_t first) const {
  std::vector<uint32_t> out;
  uint32_t c = first;
  while (c != 0xFFFFFFFFu) {
    if (c < 2 || c >= m_cluster_count + 2)
      return damaged("a cluster chain leaves the volume (cluster " + std::to_string(c) + ")");
    if (out.size() > m_cluster_count) return damaged("a cluster chain loops");
    out.push_back(c);
    auto next = next_cluster(c);
    if (!next) return fail(next.error());
    if (*next == 0xFFFFFFF7u) return damaged("a cluster chain runs into a bad cluster");
    c = *next;
  }
  return out;
}

Result<std::string> FatVolume::read_directory(uint32_t first_cluster, bool fixed_root) const {
  std::string data;
  if (fixed_root) {
    data.resize(m_root_bytes);
    if (auto st = m_file->read_at(m_offset + m_root_offset, data); !st) return fail(st.error());
    return data;
  }
  auto clusters = chain(first_cluster);
  if (!clusters) return fail(clusters.error());
  if (clusters->size() * m_cluster_bytes > k_max_entries * k_entry) return damaged("a directory larger than 100000 entries");
  std::string cluster(m_cluster_bytes, '\0');
  for (uint32_t c : *clusters) {
    if (auto st = m_file->read_at(cluster_offset(c), cluster); !st) return fail(st.error());
    data += cluster;
  }
  return data;
}

struct FatVolume::Entry {
  std::u16string name;  // FileString: the long name, or the 8.3 name by its case flags
  std::string raw;      // the 11 bytes of the 8.3 name
  uint8_t attributes = 0;
  uint32_t cluster = 0;
  uint32_t size = 0;
  bool is_dot() const { return raw == ".          " || raw == "..         "; }
  bool is_directory() const { return (attributes & k_attr_directory) != 0; }
};

// FatLoadNextDirEnt and FatLoadLongNameEntry over one directory's bytes.
Result<std::vector<FatVolume::Entry>> FatVolume::entries(uint32_t first_cluster, bool fixed_root) const {
  auto data = read_directory(first_cluster, fixed_root);
  if (!data) return fail(data.error());
  std::vector<Entry> out;
  const size_t count = data->size() / k_entry;
  auto at = [&](size_t i) { return reinterpret_cast<const unsigned char*>(data->data() + i * k_entry); };
  for (size_t pos = 0; pos < count; ++pos) {
    const unsigned char* e = at(pos);
    if (e[0] == 0xE5 || (e[11] & k_attr_volume) != 0) continue;  // deleted, a volume label or a long-name part
    if (e[0] == 0x00) break;                                     // only now: the end of the directory
    Entry entry;
    entry.raw.assign(reinterpret_cast<const char*>(e), 11);
    entry.attributes = e[11];
    entry.cluster = le16(e + 26) | (m_fat_bits == 32 ? static_cast<uint32_t>(le16(e + 20)) << 16 : 0);
    entry.size = le32(e + 28);
    // FatLoadLongNameEntry: walk back from the short entry.
    const uint8_t sum = short_name_checksum(e);
    std::u16string lfn;
    bool whole = false;
    size_t back = pos;
    for (uint8_t ordinal = 1;; ++ordinal) {
      if (back == 0) break;
      const unsigned char* l = at(--back);
      if (l[11] != k_attr_long_name || le16(l + 26) != 0 || l[13] != sum || (l[0] & ~0x40 & 0xFF) != ordinal ||
          ordinal > k_max_lfn_entries)
        break;
      static constexpr int k_offsets[] = {1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30};
      for (int off : k_offsets) lfn += static_cast<char16_t>(le16(l + off));
      if (l[0] & 0x40) {
        whole = true;
        break;
      }
    }
    if (whole) {
      auto nul = lfn.find(u'\0');
      if (nul != std::u16string::npos) lfn.resize(nul);
    }
    entry.name = whole && !lfn.empty() ? lfn : case_flag_name(e, true);
    out.push_back(std::move(entry));
    if (out.size() > k_max_entries) return damaged("more than 100000 directory entries");
  }
  return out;
}

Result<std::vector<FatFile>> FatVolume::files() const {
  std::vector<FatFile> out;
  struct Dir {
    std::vector<std::pair<std::string, std::string>> names;  // (firmware name, 8.3 name) per component
    uint32_t cluster;
    bool fixed_root;
  };
  std::vector<Dir> todo{{{}, m_root_cluster, m_fat_bits != 32}};
  std::set<uint32_t> seen_dirs;
  size_t total = 0;
  while (!todo.empty()) {
    Dir dir = todo.back();
    todo.pop_back();
    if (dir.names.size() > static_cast<size_t>(k_max_depth)) return damaged("directories nested deeper than 32 levels");
    auto list = entries(dir.cluster, dir.fixed_root);
    if (!list) return fail(list.error());
    if ((total += list->size()) > k_max_entries) return damaged("more than 100000 directory entries");
    for (const auto& e : *list) {
      if (e.is_dot()) continue;
      auto names = dir.names;
      names.emplace_back(utf8(e.name), utf8(case_flag_name(reinterpret_cast<const unsigned char*>(e.raw.data()), false)));
      FatFile f;
      for (const auto& [name, short_name] : names) {
        f.path += (f.path.empty() ? "" : "/") + name;
        f.short_path += (f.short_path.empty() ? "" : "/") + short_name;
      }
      // Every spelling the firmware opens it by: each component by either name.
      f.spellings = {""};
      for (const auto& [name, short_name] : names) {
        std::vector<std::string> next;
        for (const auto& prefix : f.spellings) {
          std::string p = prefix.empty() ? "" : prefix + "/";
          next.push_back(p + name);
          if (short_name != name && next.size() < k_max_spellings) next.push_back(p + short_name);
        }
        f.spellings = std::move(next);
      }
      f.size = e.size;
      f.first_cluster = e.cluster;
      f.directory = e.is_directory();
      if (f.directory) {
        if (e.cluster < 2 || !seen_dirs.insert(e.cluster).second)
          return damaged(f.path + ": a directory that loops or has no cluster");
        todo.push_back({std::move(names), e.cluster, false});
      } else {
        out.push_back(std::move(f));
      }
    }
  }
  return out;
}

Result<std::optional<FatFile>> FatVolume::find(std::string_view path) const {
  auto parts = split_path(path);
  uint32_t cluster = m_root_cluster;
  bool fixed_root = m_fat_bits != 32;
  FatFile found;
  found.directory = true;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (!found.directory) return std::nullopt;
    auto list = entries(cluster, fixed_root);
    if (!list) return fail(list.error());
    std::u16string want = utf16(parts[i]);
    auto short_form = fat_short_form(want);
    const Entry* hit = nullptr;
    for (const auto& e : *list)
      if (same_name(e.name, want) || (short_form && e.raw == *short_form)) {
        hit = &e;
        break;
      }
    if (hit == nullptr) return std::nullopt;
    found.path += (found.path.empty() ? "" : "/") + utf8(hit->name);
    found.short_path += (found.short_path.empty() ? "" : "/") +
                        utf8(case_flag_name(reinterpret_cast<const unsigned char*>(hit->raw.data()), false));
    found.size = hit->size;
    found.first_cluster = hit->cluster;
    found.directory = hit->is_directory();
    if (found.directory) {
      if (hit->cluster < 2) return std::nullopt;  // ".." to the root, or damaged
      cluster = hit->cluster;
      fixed_root = false;
    }
  }
  found.spellings = {found.path};
  return found;
}

Result<std::vector<FatFile>> FatVolume::list(std::string_view path) const {
  uint32_t cluster = m_root_cluster;
  bool fixed_root = m_fat_bits != 32;
  std::string base;
  if (!split_path(path).empty()) {
    auto dir = find(path);
    if (!dir) return fail(dir.error());
    if (!*dir || !(*dir)->directory) return std::vector<FatFile>{};
    cluster = (*dir)->first_cluster;
    fixed_root = false;
    base = (*dir)->path + "/";
  }
  auto list = entries(cluster, fixed_root);
  if (!list) return fail(list.error());
  std::vector<FatFile> out;
  for (const auto& e : *list) {
    if (e.is_dot()) continue;
    FatFile f;
    f.path = base + utf8(e.name);
    f.short_path = base + utf8(case_flag_name(reinterpret_cast<const unsigned char*>(e.raw.data()), false));
    f.size = e.size;
    f.first_cluster = e.cluster;
    f.directory = e.is_directory();
    f.spellings = {f.path};
    out.push_back(std::move(f));
  }
  return out;
}

Result<std::string> FatVolume::read(const FatFile& f, size_t max_bytes) const {
  if (f.size > max_bytes) return damaged(f.path + ": larger than " + std::to_string(max_bytes) + " bytes");
  std::string out;
  if (f.size == 0) return out;
  auto clusters = chain(f.first_cluster);
  if (!clusters) return fail(clusters.error());
  if (uint64_t{clusters->size()} * m_cluster_bytes < f.size) return damaged(f.path + ": its clusters hold less than its size");
  out.resize(f.size);
  uint64_t done = 0;
  for (uint32_t c : *clusters) {
    if (done >= f.size) break;
    size_t n = static_cast<size_t>(std::min<uint64_t>(m_cluster_bytes, f.size - done));
    if (auto st = m_file->read_at(cluster_offset(c), std::span<char>(out.data() + done, n)); !st) return fail(st.error());
    done += n;
  }
  return out;
}

Status FatVolume::copy(const FatFile& f, const std::filesystem::path& dest) const {
  std::vector<uint32_t> clusters;
  if (f.size != 0) {
    auto c = chain(f.first_cluster);
    if (!c) return fail(c.error());
    if (uint64_t{c->size()} * m_cluster_bytes < f.size) return damaged(f.path + ": its clusters hold less than its size");
    clusters = std::move(*c);
  }
  int fd = ::open(dest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return fail(ErrorKind::io, dest.string() + ": " + std::strerror(errno));
  std::string buffer(std::min<uint64_t>(k_stream_chunk, m_cluster_bytes), '\0');
  uint64_t left = f.size;
  auto failed = [&](Error e) {
    ::close(fd);
    ::unlink(dest.c_str());
    return fail(std::move(e));
  };
  for (uint32_t c : clusters) {
    for (uint64_t in = 0; in < m_cluster_bytes && left > 0;) {
      size_t n = static_cast<size_t>(std::min<uint64_t>({buffer.size(), m_cluster_bytes - in, left}));
      if (auto st = m_file->read_at(cluster_offset(c) + in, std::span<char>(buffer.data(), n)); !st) return failed(st.error());
      for (size_t done = 0; done < n;) {
        ssize_t w = ::write(fd, buffer.data() + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return failed(Error(ErrorKind::io, dest.string() + ": " + std::strerror(errno)));
        done += static_cast<size_t>(w);
      }
      in += n;
      left -= n;
    }
  }
  if (::close(fd) != 0) return fail(ErrorKind::io, dest.string() + ": " + std::strerror(errno));
  return {};
}

std::optional<std::string> fat_short_form(std::u16string_view name) {
  // FatCheckIs8Dot3Name (FatPkg/EnhancedFatDxe/FileName.c), with
  // FatStrToFat refusing what it would have to replace.
  size_t dot = name.rfind(u'.');
  std::u16string_view main = dot == std::u16string_view::npos ? name : name.substr(0, dot);
  std::u16string_view ext = dot == std::u16string_view::npos ? std::u16string_view{} : name.substr(dot + 1);
  if (main.empty() || main.size() > 8 || ext.size() > 3) return std::nullopt;
  std::string out(11, ' ');
  auto put = [&](std::u16string_view part, size_t at) {
    static const std::u16string_view k_invalid = u"\"*+,/:;<=>?[\\]|. ";
    for (size_t i = 0; i < part.size(); ++i) {
      char16_t c = part[i];
      if (c < 0x20 || c > 0x7E || k_invalid.find(c) != std::u16string_view::npos) return false;
      out[at + i] = static_cast<char>(fold(c));
    }
    return true;
  };
  if (!put(main, 0) || !put(ext, 8)) return std::nullopt;
  return out;
}

}  // namespace sbpipe

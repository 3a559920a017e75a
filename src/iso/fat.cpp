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

// "NAME    EXT" with the case flags of byte 12 (0x08 lower-case base, 0x10
// lower-case extension, as Windows NT and mtools write them).
std::string short_name(const unsigned char* e) {
  auto part = [](const unsigned char* p, size_t n, bool lower) {
    std::string s(reinterpret_cast<const char*>(p), n);
    while (!s.empty() && s.back() == ' ') s.pop_back();
    if (lower)
      for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  std::string base = part(e, 8, (e[12] & 0x08) != 0), ext = part(e + 8, 3, (e[12] & 0x10) != 0);
  if (!base.empty() && base[0] == '\x05') base[0] = '\xE5';
  return ext.empty() ? base : base + "." + ext;
}

}  // namespace

std::unexpected<Error> FatVolume::damaged(const std::string& why) const {
  return fail(ErrorKind::invalid_input, m_label + ": not a readable FAT file system: " + why);
}

Result<FatVolume> FatVolume::open(const RandomAccess& file, uint64_t offset, uint64_t size, std::string label) {
  FatVolume v(file, std::move(label));
  std::array<unsigned char, 512> bs{};
  if (!range_fits(offset, bs.size(), file.size()) || size < bs.size()) return v.damaged("shorter than a boot sector");
  if (auto st = file.read_at(offset, std::span<char>(reinterpret_cast<char*>(bs.data()), bs.size())); !st)
    return fail(st.error());
  if (bs[510] != 0x55 || bs[511] != 0xAA) return v.damaged("no boot sector signature");
  uint32_t bps = le16(&bs[11]), spc = bs[13], reserved = le16(&bs[14]), fats = bs[16], root_entries = le16(&bs[17]);
  uint32_t total16 = le16(&bs[19]), fat16 = le16(&bs[22]), total32 = le32(&bs[32]), fat32 = le32(&bs[36]);
  if (bps != 512 && bps != 1024 && bps != 2048 && bps != 4096) return v.damaged("bytes per sector is " + std::to_string(bps));
  if (!power_of_two(spc) || spc > 128) return v.damaged("sectors per cluster is " + std::to_string(spc));
  if (reserved == 0 || fats == 0) return v.damaged("no reserved sectors or no FAT");
  uint64_t total = total16 != 0 ? total16 : total32;
  uint64_t fat_sectors = fat16 != 0 ? fat16 : fat32;
  bool is_fat32 = fat16 == 0;
  if (is_fat32 && root_entries != 0) return v.damaged("a FAT32 volume with a fixed root directory");
  uint64_t root_sectors = (uint64_t{root_entries} * k_entry + bps - 1) / bps;
  uint64_t first_data = reserved + uint64_t{fats} * fat_sectors + root_sectors;
  if (fat_sectors == 0 || total <= first_data) return v.damaged("the FATs and root directory fill the volume");
  v.m_total_bytes = total * bps;
  if (v.m_total_bytes > size || !range_fits(offset, v.m_total_bytes, file.size()))
    return v.damaged("the boot sector describes " + std::to_string(v.m_total_bytes) + " bytes, more than the image holds");
  uint64_t clusters = (total - first_data) / spc;
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

Result<std::vector<FatFile>> FatVolume::files() const {
  std::vector<FatFile> out;
  struct Dir {
    std::string path;
    uint32_t cluster;
    bool fixed_root;
    int depth;
  };
  std::vector<Dir> todo{{"", m_root_cluster, m_fat_bits != 32, 0}};
  std::set<uint32_t> seen_dirs;
  size_t entries = 0;
  while (!todo.empty()) {
    Dir dir = todo.back();
    todo.pop_back();
    if (dir.depth > k_max_depth) return damaged("directories nested deeper than 32 levels");
    auto data = read_directory(dir.cluster, dir.fixed_root);
    if (!data) return fail(data.error());
    std::u16string long_name;
    int long_expect = 0;
    uint8_t long_sum = 0;
    for (size_t at = 0; at + k_entry <= data->size(); at += k_entry) {
      const auto* e = reinterpret_cast<const unsigned char*>(data->data() + at);
      if (e[0] == 0x00) break;  // no entries after this one
      if (++entries > k_max_entries) return damaged("more than 100000 directory entries");
      if (e[0] == 0xE5) {
        long_expect = 0;
        continue;
      }
      if ((e[11] & 0x3F) == k_attr_long_name) {
        int order = e[0] & 0x1F;
        if (e[0] & 0x40) {
          long_name.assign(static_cast<size_t>(order) * 13, u'\0');
          long_expect = order;
          long_sum = e[13];
        }
        if (order < 1 || order != long_expect || e[13] != long_sum) {
          long_expect = 0;  // an orphan: ignored, as a FAT driver does
          continue;
        }
        static constexpr int k_offsets[] = {1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30};
        for (int i = 0; i < 13; ++i) long_name[static_cast<size_t>(order - 1) * 13 + i] = le16(e + k_offsets[i]);
        --long_expect;
        if (long_expect == 0) long_expect = -1;  // complete; the short entry follows
        continue;
      }
      std::string name = short_name(e);
      if (long_expect == -1 && short_name_checksum(e) == long_sum) {
        std::string utf8;
        for (char16_t c : long_name) {
          if (c == u'\0' || c == 0xFFFF) break;
          append_utf8(utf8, static_cast<uint16_t>(c));
        }
        if (!utf8.empty()) name = utf8;
      }
      long_expect = 0;
      if (e[11] & k_attr_volume) continue;
      if (name == "." || name == ".." || name.empty() || name.find('/') != std::string::npos) continue;
      uint32_t cluster = le16(e + 26) | (m_fat_bits == 32 ? static_cast<uint32_t>(le16(e + 20)) << 16 : 0);
      std::string path = dir.path.empty() ? name : dir.path + "/" + name;
      if (e[11] & k_attr_directory) {
        if (cluster < 2 || !seen_dirs.insert(cluster).second) return damaged(path + ": a directory that loops or has no cluster");
        todo.push_back({path, cluster, false, dir.depth + 1});
      } else {
        out.push_back(FatFile{path, le32(e + 28), cluster});
      }
    }
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

}  // namespace sbpipe

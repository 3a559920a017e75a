// Go's archive/tar reader (go1.19) restated; see tar_reader.h. The comments
// name the Go functions each piece follows.

#include "oci/tar_reader.h"

#include <algorithm>
#include <cstring>
#include <map>

namespace sbpipe {
namespace {

constexpr size_t k_block = 512;
constexpr uint64_t k_max_special = 1 << 20;  // format.go maxSpecialFileSize

enum class Format { v7, ustar_pax, gnu, star };

// Field offsets of format.go (headerV7, headerUSTAR, headerGNU, headerSTAR).
struct Field {
  size_t at, size;
};
constexpr Field k_name{0, 100}, k_mode{100, 8}, k_uid{108, 8}, k_gid{116, 8}, k_size{124, 12}, k_mtime{136, 12}, k_chksum{148, 8},
    k_linkname{157, 100}, k_magic{257, 6}, k_version{263, 2}, k_devmajor{329, 8}, k_devminor{337, 8}, k_ustar_prefix{345, 155},
    k_star_prefix{345, 131}, k_star_atime{476, 12}, k_star_ctime{488, 12}, k_star_trailer{508, 4}, k_gnu_atime{345, 12},
    k_gnu_ctime{357, 12};

std::string_view field(const char* block, Field f) { return {block + f.at, f.size}; }

// parser.parseString: up to the first NUL.
std::string parse_string(std::string_view b) { return std::string(b.substr(0, b.find('\0'))); }

// strconv.ParseUint(s, 8, 64).
std::optional<uint64_t> parse_octal_digits(std::string_view s) {
  if (s.empty()) return std::nullopt;
  uint64_t x = 0;
  for (char c : s) {
    if (c < '0' || c > '7' || (x >> 61) != 0) return std::nullopt;
    x = x * 8 + static_cast<uint64_t>(c - '0');
  }
  return x;
}

// strconv.ParseInt(s, 10, 64).
std::optional<int64_t> parse_decimal(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  uint64_t x = 0;
  const uint64_t limit = negative ? (uint64_t{1} << 63) : (uint64_t{1} << 63) - 1;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (x > (limit - d) / 10) return std::nullopt;
    x = x * 10 + d;
  }
  return negative ? static_cast<int64_t>(~x + 1) : static_cast<int64_t>(x);
}

// parser.parseOctal and parseNumeric: octal, or base-256 when the first
// byte's top bit is set. A field that does not parse sets `ok` false.
int64_t parse_numeric(std::string_view b, bool& ok) {
  if (!b.empty() && (static_cast<unsigned char>(b[0]) & 0x80) != 0) {
    unsigned char inv = (static_cast<unsigned char>(b[0]) & 0x40) != 0 ? 0xff : 0x00;
    uint64_t x = 0;
    for (size_t i = 0; i < b.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(b[i]) ^ inv;
      if (i == 0) c &= 0x7f;
      if ((x >> 56) != 0) {
        ok = false;
        return 0;
      }
      x = x << 8 | c;
    }
    if ((x >> 63) != 0) {
      ok = false;
      return 0;
    }
    return inv == 0xff ? ~static_cast<int64_t>(x) : static_cast<int64_t>(x);
  }
  size_t first = b.find_first_not_of(std::string_view(" \0", 2));
  if (first == std::string_view::npos) return 0;
  size_t last = b.find_last_not_of(std::string_view(" \0", 2));
  std::string_view trimmed = b.substr(first, last - first + 1);
  auto x = parse_octal_digits(trimmed.substr(0, trimmed.find('\0')));
  if (!x) {
    ok = false;
    return 0;
  }
  return static_cast<int64_t>(*x);
}

// block.getFormat: the checksum (unsigned or signed sum, the field itself
// counted as spaces), then the magic. nullopt: not a header.
std::optional<Format> format_of(const char* block) {
  bool ok = true;
  int64_t stored = parse_numeric(field(block, k_chksum), ok);
  // parseOctal is used for the checksum, never base-256.
  if ((static_cast<unsigned char>(block[k_chksum.at]) & 0x80) != 0) return std::nullopt;
  int64_t unsigned_sum = 0, signed_sum = 0;
  for (size_t i = 0; i < k_block; ++i) {
    char c = i >= k_chksum.at && i < k_chksum.at + k_chksum.size ? ' ' : block[i];
    unsigned_sum += static_cast<unsigned char>(c);
    signed_sum += static_cast<signed char>(c);
  }
  if (!ok || (stored != unsigned_sum && stored != signed_sum)) return std::nullopt;
  auto magic = field(block, k_magic);
  if (magic == std::string_view("ustar\0", 6) && field(block, k_star_trailer) == std::string_view("tar\0", 4))
    return Format::star;
  if (magic == std::string_view("ustar\0", 6)) return Format::ustar_pax;
  if (magic == "ustar " && field(block, k_version) == std::string_view(" \0", 2)) return Format::gnu;
  return Format::v7;
}

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// reader.go isHeaderOnlyType.
bool header_only(char type) { return type == '1' || type == '2' || type == '3' || type == '4' || type == '5' || type == '6'; }

// Reader.readHeader on a block known to be a header.
std::optional<TarHeader> parse_header(const char* block, Format format) {
  bool ok = true;
  TarHeader h;
  h.typeflag = block[156];
  h.name = parse_string(field(block, k_name));
  h.linkname = parse_string(field(block, k_linkname));
  h.size = parse_numeric(field(block, k_size), ok);
  for (Field f : {k_mode, k_uid, k_gid, k_mtime}) parse_numeric(field(block, f), ok);
  if (format != Format::v7) {
    parse_numeric(field(block, k_devmajor), ok);
    parse_numeric(field(block, k_devminor), ok);
    std::string prefix;
    switch (format) {
    case Format::ustar_pax: prefix = parse_string(field(block, k_ustar_prefix)); break;
    case Format::star:
      prefix = parse_string(field(block, k_star_prefix));
      parse_numeric(field(block, k_star_atime), ok);
      parse_numeric(field(block, k_star_ctime), ok);
      break;
    case Format::gnu: {
      // Pre-Go1.8 writers put a USTAR prefix where GNU keeps atime and
      // ctime: when those do not parse, an ASCII prefix is taken.
      bool times_ok = true;
      if (block[k_gnu_atime.at] != 0) parse_numeric(field(block, k_gnu_atime), times_ok);
      if (block[k_gnu_ctime.at] != 0) parse_numeric(field(block, k_gnu_ctime), times_ok);
      if (!times_ok) {
        std::string s = parse_string(field(block, k_ustar_prefix));
        if (is_ascii(s)) prefix = s;
      }
      break;
    }
    case Format::v7: break;
    }
    if (!prefix.empty()) h.name = prefix + "/" + h.name;
  }
  if (!ok) return std::nullopt;
  return h;
}

// strconv.go parsePAXTime, as far as it fails.
bool valid_pax_time(std::string_view s) {
  auto dot = s.find('.');
  if (!parse_decimal(s.substr(0, dot))) return false;
  if (dot == std::string_view::npos) return true;
  auto fraction = s.substr(dot + 1);
  return std::all_of(fraction.begin(), fraction.end(), [](char c) { return c >= '0' && c <= '9'; });
}

using PaxRecords = std::map<std::string, std::string>;

// reader.go parsePAX with strconv.go parsePAXRecord and validPAXRecord.
std::optional<PaxRecords> parse_pax(std::string_view s) {
  PaxRecords records;
  std::vector<std::string> sparse_map;
  while (!s.empty()) {
    auto space = s.find(' ');
    if (space == std::string_view::npos) return std::nullopt;
    auto n = parse_decimal(s.substr(0, space));
    if (!n || *n < 5 || static_cast<uint64_t>(*n) > s.size()) return std::nullopt;
    int64_t in_rest = *n - static_cast<int64_t>(space + 1);
    if (in_rest <= 0) return std::nullopt;
    std::string_view rest = s.substr(space + 1);
    std::string_view record = rest.substr(0, static_cast<size_t>(in_rest) - 1);
    if (rest[static_cast<size_t>(in_rest) - 1] != '\n') return std::nullopt;
    s = rest.substr(static_cast<size_t>(in_rest));
    auto eq = record.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    std::string key(record.substr(0, eq)), value(record.substr(eq + 1));
    if (key.empty()) return std::nullopt;
    bool named = key == "path" || key == "linkpath" || key == "uname" || key == "gname";
    if ((named ? value : key).find('\0') != std::string::npos) return std::nullopt;
    if (key == "GNU.sparse.offset" || key == "GNU.sparse.numbytes") {
      bool want_offset = sparse_map.size() % 2 == 0;
      if ((key == "GNU.sparse.offset") != want_offset || value.find(',') != std::string::npos) return std::nullopt;
      sparse_map.push_back(value);
      continue;
    }
    records[key] = value;
  }
  if (!sparse_map.empty()) {
    std::string joined;
    for (const auto& v : sparse_map) joined += (joined.empty() ? "" : ",") + v;
    records["GNU.sparse.map"] = joined;
  }
  return records;
}

// reader.go mergePAX: false when a record that Go parses does not parse.
bool merge_pax(TarHeader& h, const PaxRecords& records) {
  for (const auto& [key, value] : records) {
    if (value.empty()) continue;  // keeps the header's value
    if (key == "path")
      h.name = value;
    else if (key == "linkpath")
      h.linkname = value;
    else if (key == "uid" || key == "gid") {
      if (!parse_decimal(value)) return false;
    } else if (key == "atime" || key == "mtime" || key == "ctime") {
      if (!valid_pax_time(value)) return false;
    } else if (key == "size") {
      auto size = parse_decimal(value);
      if (!size) return false;
      h.size = *size;
    }
  }
  return true;
}

std::string record(const PaxRecords& records, const std::string& key) {
  auto it = records.find(key);
  return it == records.end() ? "" : it->second;
}

// reader.go readGNUSparsePAXHeaders, as far as it names and sizes the file.
bool apply_pax_sparse(TarHeader& h, const PaxRecords& records) {
  std::string major = record(records, "GNU.sparse.major"), minor = record(records, "GNU.sparse.minor");
  bool sparse = (major == "0" && (minor == "0" || minor == "1")) || (major == "1" && minor == "0") ||
                (major.empty() && minor.empty() && !record(records, "GNU.sparse.map").empty());
  if (!sparse) return true;
  h.sparse = true;
  if (auto name = record(records, "GNU.sparse.name"); !name.empty()) h.name = name;
  std::string size = record(records, "GNU.sparse.size");
  if (size.empty()) size = record(records, "GNU.sparse.realsize");
  if (!size.empty()) {
    auto n = parse_decimal(size);
    if (!n) return false;
    h.size = *n;
  }
  return !header_only(h.typeflag);
}

}  // namespace

TarReader::TarReader(ByteSource& source, std::string label, Skipper skip)
    : m_source(source), m_label(std::move(label)), m_skip(std::move(skip)), m_buffer(64 << 10) {}

Error TarReader::damaged(const std::string& what) const {
  return Error(ErrorKind::invalid_input, m_label + ": not a valid tar archive: " + what);
}

Status TarReader::read_exact(char* out, size_t n, bool* ended_cleanly) {
  size_t got = 0;
  while (got < n) {
    if (m_begin == m_end) {
      auto r = m_source.read(std::span<char>(m_buffer.data(), m_buffer.size()));
      if (!r) return fail(r.error());
      if (*r == 0) {
        if (ended_cleanly != nullptr && got == 0) {
          *ended_cleanly = true;
          return {};
        }
        return fail(damaged("truncated: it ends inside an entry at byte " + std::to_string(m_position)));
      }
      m_begin = 0;
      m_end = *r;
    }
    size_t take = std::min(n - got, m_end - m_begin);
    std::memcpy(out + got, m_buffer.data() + m_begin, take);
    m_begin += take;
    got += take;
    m_position += take;
  }
  return {};
}

Status TarReader::discard(uint64_t n) {
  size_t buffered = static_cast<size_t>(std::min<uint64_t>(n, m_end - m_begin));
  m_begin += buffered;
  m_position += buffered;
  n -= buffered;
  if (n > 0 && m_skip) {
    auto skipped = m_skip(n);
    if (!skipped) return fail(skipped.error());
    m_position += *skipped;
    if (*skipped < n) return fail(damaged("truncated: it ends inside an entry at byte " + std::to_string(m_position)));
    return {};
  }
  std::vector<char> sink(static_cast<size_t>(std::min<uint64_t>(n, 64 << 10)));
  while (n > 0) {
    size_t step = static_cast<size_t>(std::min<uint64_t>(n, sink.size()));
    if (auto st = read_exact(sink.data(), step, nullptr); !st) return st;
    n -= step;
  }
  return {};
}

Result<size_t> TarReader::read(std::span<char> buffer) {
  size_t want = static_cast<size_t>(std::min<uint64_t>(buffer.size(), m_remaining));
  if (want == 0) return size_t{0};
  if (m_begin == m_end) {
    // Large reads go straight to the caller's buffer.
    auto r = m_source.read(buffer.first(want));
    if (!r) return fail(r.error());
    if (*r == 0) return fail(damaged("truncated: it ends inside an entry at byte " + std::to_string(m_position)));
    m_position += *r;
    m_remaining -= *r;
    return *r;
  }
  size_t take = std::min(want, m_end - m_begin);
  std::memcpy(buffer.data(), m_buffer.data() + m_begin, take);
  m_begin += take;
  m_position += take;
  m_remaining -= take;
  return take;
}

Result<std::string> TarReader::read_special(const TarHeader& header) {
  if (m_remaining > k_max_special)
    return fail(damaged("a '" + std::string(1, header.typeflag) + "' extension header of " + std::to_string(m_remaining) +
                        " bytes (more than 1 MiB)"));
  std::string data(static_cast<size_t>(m_remaining), '\0');
  if (auto st = read_exact(data.data(), data.size(), nullptr); !st) return fail(st.error());
  m_remaining = 0;
  return data;
}

Result<std::optional<TarHeader>> TarReader::next() {
  std::optional<PaxRecords> pax;
  std::string long_name, long_link;
  while (!m_done) {
    if (auto st = discard(m_remaining); !st) return fail(st.error());
    m_remaining = 0;
    // The padding may be cut short at the very end (tryReadFull's EOF is
    // the archive's end).
    while (m_padding > 0) {
      if (m_begin == m_end) {
        auto r = m_source.read(std::span<char>(m_buffer.data(), m_buffer.size()));
        if (!r) return fail(r.error());
        if (*r == 0) {
          m_done = true;
          return std::optional<TarHeader>();
        }
        m_begin = 0;
        m_end = *r;
      }
      size_t take = static_cast<size_t>(std::min<uint64_t>(m_padding, m_end - m_begin));
      m_begin += take;
      m_position += take;
      m_padding -= take;
    }
    char block[k_block];
    bool ended = false;
    uint64_t at = m_position;
    // Bytes that do not start with a header are no tar at all.
    auto not_tar = [&] { return fail(ErrorKind::invalid_input, m_label + ": not a tar archive"); };
    if (auto st = read_exact(block, k_block, &ended); !st) return at == 0 ? not_tar() : fail(st.error());
    if (ended) break;
    if (std::all_of(block, block + k_block, [](char c) { return c == 0; })) {
      if (auto st = read_exact(block, k_block, &ended); !st) return fail(st.error());
      if (ended || std::all_of(block, block + k_block, [](char c) { return c == 0; })) break;
      return fail(damaged("a zero block followed by data at byte " + std::to_string(at)));
    }
    auto format = format_of(block);
    if (!format && at == 0) return not_tar();
    if (!format) return fail(damaged("no valid header at byte " + std::to_string(at) + " (checksum or magic)"));
    auto header = parse_header(block, *format);
    if (!header) return fail(damaged("a numeric field of the header at byte " + std::to_string(at) + " does not parse"));
    TarHeader h = std::move(*header);
    // Reader.handleRegularFile: header-only types store no data.
    auto stored = [&](const TarHeader& t) -> Status {
      int64_t n = header_only(t.typeflag) ? 0 : t.size;
      if (n < 0) return fail(damaged("a negative size in the header at byte " + std::to_string(at)));
      m_remaining = static_cast<uint64_t>(n);
      m_padding = (k_block - m_remaining % k_block) % k_block;
      return {};
    };
    if (auto st = stored(h); !st) return fail(st.error());
    if (h.typeflag == 'x' || h.typeflag == 'g') {
      auto text = read_special(h);
      if (!text) return fail(text.error());
      auto records = parse_pax(*text);
      if (!records) return fail(damaged("a malformed PAX record in the header at byte " + std::to_string(at)));
      if (h.typeflag == 'g') {
        (void)merge_pax(h, *records);  // Go ignores mergePAX's error here
        h.data_offset = m_position;
        return std::optional<TarHeader>(std::move(h));
      }
      pax = std::move(*records);
      continue;
    }
    if (h.typeflag == 'L' || h.typeflag == 'K') {
      auto text = read_special(h);
      if (!text) return fail(text.error());
      (h.typeflag == 'L' ? long_name : long_link) = parse_string(*text);
      continue;
    }
    if (pax && !merge_pax(h, *pax))
      return fail(damaged("a PAX record that does not parse, for the entry at byte " + std::to_string(at)));
    if (!long_name.empty()) h.name = long_name;
    if (!long_link.empty()) h.linkname = long_link;
    if (h.typeflag == '\0') h.typeflag = h.name.ends_with('/') ? '5' : '0';
    if (auto st = stored(h); !st) return fail(st.error());
    if (h.typeflag == 'S')
      return fail(Error(ErrorKind::invalid_input,
                        m_label + ": " + h.name + ": an old GNU sparse file (type S), which containerd does not unpack"));
    if (pax && !apply_pax_sparse(h, *pax)) return fail(damaged("malformed GNU sparse records for " + h.name));
    h.data_offset = m_position;
    h.data_size = m_remaining;
    return std::optional<TarHeader>(std::move(h));
  }
  m_done = true;
  m_remaining = 0;
  m_padding = 0;
  return std::optional<TarHeader>();
}

}  // namespace sbpipe

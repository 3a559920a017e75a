// oci/tar_reader.h against tar streams written block by block here, each
// spelling something Go's archive/tar (go1.19 reader.go) reads in one
// definite way; and core/go_path.h against Go's filepath rules.

#include <doctest/doctest.h>

#include <cstring>

#include "core/go_path.h"
#include "oci/tar_reader.h"

using namespace sbpipe;

namespace {

std::string octal(uint64_t n, size_t width) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%0*llo", static_cast<int>(width - 1), static_cast<unsigned long long>(n));
  return std::string(buf) + '\0';
}

enum class Magic { ustar, gnu, v7 };

// One header block (ustar layout), with its checksum.
std::string header(const std::string& name, char type, uint64_t size = 0, const std::string& link = "",
                   Magic magic = Magic::ustar, const std::string& prefix = "") {
  std::string b(512, '\0');
  b.replace(0, name.size(), name);
  b.replace(100, 8, octal(0644, 8));
  b.replace(108, 8, octal(0, 8));
  b.replace(116, 8, octal(0, 8));
  b.replace(124, 12, octal(size, 12));
  b.replace(136, 12, octal(0, 12));
  b[156] = type;
  b.replace(157, link.size(), link);
  if (magic == Magic::ustar)
    b.replace(257, 8,
              std::string("ustar\0"
                          "00",
                          8));
  if (magic == Magic::gnu) b.replace(257, 8, std::string("ustar  \0", 8));
  b.replace(345, prefix.size(), prefix);
  b.replace(148, 8, std::string(8, ' '));
  unsigned sum = 0;
  for (unsigned char c : b) sum += c;
  char chk[8];
  std::snprintf(chk, sizeof chk, "%06o", sum);
  b.replace(148, 8, std::string(chk, 6) + std::string("\0 ", 2));
  return b;
}

std::string padded(const std::string& data) { return data + std::string((512 - data.size() % 512) % 512, '\0'); }
std::string file(const std::string& name, const std::string& data) { return header(name, '0', data.size()) + padded(data); }

std::string pax_body(const std::vector<std::pair<std::string, std::string>>& records) {
  std::string body;
  for (const auto& [k, v] : records) {
    std::string rec = " " + k + "=" + v + "\n";
    size_t n = rec.size() + 1;
    while (std::to_string(n).size() + rec.size() != n) ++n;
    body += std::to_string(n) + rec;
  }
  return body;
}
std::string pax(const std::vector<std::pair<std::string, std::string>>& records, char type = 'x',
                const std::string& name = "pax") {
  std::string body = pax_body(records);
  return header(name, type, body.size()) + padded(body);
}
std::string long_name(const std::string& name, char type = 'L') {
  std::string data = name + '\0';
  return header("././@LongLink", type, data.size(), "", Magic::gnu) + padded(data);
}
const std::string k_end(1024, '\0');

struct Entry {
  char type;
  std::string name, link, data;
};

// Every entry of `tar`, with its data; or the error's message.
Result<std::vector<Entry>> read_tar(const std::string& tar) {
  MemorySource source(tar);
  TarReader reader(source, "t.tar");
  std::vector<Entry> out;
  for (;;) {
    auto h = reader.next();
    if (!h) return fail(h.error());
    if (!*h) return out;
    Entry e{(*h)->typeflag, (*h)->name, (*h)->linkname, ""};
    char buf[300];
    for (;;) {
      auto n = reader.read(std::span<char>(buf, sizeof buf));
      if (!n) return fail(n.error());
      if (*n == 0) break;
      e.data.append(buf, *n);
    }
    out.push_back(e);
  }
}

}  // namespace

TEST_SUITE("unit") {

TEST_CASE("TarReader: a GNU long name wins over a PAX path in either order, as Go's reader takes it") {
  auto a = read_tar(pax({{"path", "harmless"}}) + long_name("usr/install/amd64/vmlinuz.efi") + file("short", "EVIL") + k_end);
  REQUIRE(a);
  REQUIRE(a->size() == 1);
  CHECK((*a)[0].name == "usr/install/amd64/vmlinuz.efi");
  CHECK((*a)[0].data == "EVIL");
  auto b = read_tar(long_name("usr/install/amd64/vmlinuz.efi") + pax({{"path", "harmless"}}) + file("short", "EVIL") + k_end);
  REQUIRE(b);
  CHECK((*b)[0].name == "usr/install/amd64/vmlinuz.efi");
  // A PAX path alone renames; a later 'x' replaces an earlier one; an empty value keeps the header's.
  auto c = read_tar(pax({{"path", "first"}}) + pax({{"linkpath", "t"}}) + file("header-name", "x") + pax({{"path", ""}}) +
                    file("kept", "y") + k_end);
  REQUIRE(c);
  CHECK((*c)[0].name == "header-name");
  CHECK((*c)[1].name == "kept");
  // A GNU long link replaces the link target.
  auto d = read_tar(long_name("far/away", 'K') + header("l", '2', 0, "near") + k_end);
  REQUIRE(d);
  CHECK((*d)[0].link == "far/away");
}

TEST_CASE("TarReader: sizes from PAX records, entries without data, legacy types, prefixes") {
  // PAX size: 3 bytes, though the header says 0.
  auto a = read_tar(pax({{"size", "3"}}) + header("f", '0', 0) + padded("abc") + k_end);
  REQUIRE(a);
  CHECK((*a)[0].data == "abc");
  // A symlink's size field is ignored: the next block is the next header.
  auto b = read_tar(header("l", '2', 512, "t") + file("hidden", "H") + k_end);
  REQUIRE(b);
  REQUIRE(b->size() == 2);
  CHECK((*b)[1].name == "hidden");
  // Type '\0': a directory when the name ends in '/', else a regular file.
  auto c = read_tar(header("d/", '\0') + header("f", '\0', 1) + padded("z") + k_end);
  REQUIRE(c);
  CHECK((*c)[0].type == '5');
  CHECK((*c)[1].type == '0');
  CHECK((*c)[1].data == "z");
  // USTAR joins prefix and name; GNU does not read a prefix there.
  auto d = read_tar(header("name", '0', 0, "", Magic::ustar, "pre/fix") + header("gnu", '0', 0, "", Magic::gnu, "0") + k_end);
  REQUIRE(d);
  CHECK((*d)[0].name == "pre/fix/name");
  CHECK((*d)[1].name == "gnu");
  // A PAX global header is an entry of its own, named by its path record.
  auto e = read_tar(pax({{"path", "usr/x"}}, 'g', "global") + file("f", "") + k_end);
  REQUIRE(e);
  REQUIRE(e->size() == 2);
  CHECK((*e)[0].type == 'g');
  CHECK((*e)[0].name == "usr/x");
}

TEST_CASE("TarReader: where a stream ends, and what Go refuses") {
  // Ending at a header boundary, or inside the last padding, is the end.
  CHECK(read_tar(file("a", "1"))->size() == 1);
  CHECK(read_tar(header("a", '0', 1) + "1")->size() == 1);
  CHECK(read_tar("")->empty());
  auto message = [](const std::string& tar) {
    auto r = read_tar(tar);
    return r ? std::string("(read)") : r.error().message();
  };
  CHECK(message(header("a", '0', 100) + "short") ==
        "t.tar: not a valid tar archive: truncated: it ends inside an entry at byte 517");
  CHECK(message(std::string(512, '\0') + file("a", "1")) ==
        "t.tar: not a valid tar archive: a zero block followed by data at byte 0");
  std::string bad = file("a", "1");
  bad[0] = 'b';  // the checksum no longer matches
  CHECK(message(bad) == "t.tar: not a tar archive");
  CHECK(message("text, not a tar") == "t.tar: not a tar archive");
  CHECK(message(file("a", "1") + bad) == "t.tar: not a valid tar archive: no valid header at byte 1024 (checksum or magic)");
  std::string not_octal = header("a", '0');
  not_octal.replace(108, 7, "12x4567");  // uid
  unsigned sum = 0;
  not_octal.replace(148, 8, std::string(8, ' '));
  for (unsigned char c : not_octal) sum += c;
  char chk[8];
  std::snprintf(chk, sizeof chk, "%06o", sum);
  not_octal.replace(148, 8, std::string(chk, 6) + std::string("\0 ", 2));
  CHECK(message(not_octal) == "t.tar: not a valid tar archive: a numeric field of the header at byte 0 does not parse");
  CHECK(message(header("s", 'S', 0, "", Magic::gnu)) ==
        "t.tar: s: an old GNU sparse file (type S), which containerd does not unpack");
  CHECK(message(header("big", 'x', (1 << 20) + 1)) ==
        "t.tar: not a valid tar archive: a 'x' extension header of 1048577 bytes (more than 1 MiB)");
  CHECK(message(pax({{"mtime", "x"}}) + file("f", "")) ==
        "t.tar: not a valid tar archive: a PAX record that does not parse, for the entry at byte 1024");
}

TEST_CASE("go_clean, go_split, go_join: Go's filepath rules") {
  struct Case {
    const char *in, *out;
  };
  for (auto c : {Case{"", "."}, Case{".", "."}, Case{"./", "."}, Case{"/", "/"}, Case{"//", "/"}, Case{"a//b", "a/b"},
                 Case{"a/./b/", "a/b"}, Case{"a/b/..", "a"}, Case{"x/..", "."}, Case{"../a", "../a"}, Case{"/../a", "/a"},
                 Case{"a/../../b", "../b"}, Case{"usr/install/x/../amd64/.wh.f", "usr/install/amd64/.wh.f"},
                 Case{"/usr//install/./amd64/", "/usr/install/amd64"}}) {
    CAPTURE(c.in);
    CHECK(go_clean(c.in) == c.out);
  }
  CHECK(go_split("usr/install/f").dir == "usr/install/");
  CHECK(go_split("usr/install/f").file == "f");
  CHECK(go_split("f").dir.empty());
  CHECK(go_join("/usr", "../..") == "/");
  CHECK(go_join("", "") == "");
  CHECK(go_join("/", "") == "/");
  CHECK(go_dir("/a/b") == "/a");
  CHECK(go_dir("b") == ".");
  CHECK(go_base("/a/b/") == "b");
  CHECK(go_base("/") == "/");
}

}  // TEST_SUITE("unit")

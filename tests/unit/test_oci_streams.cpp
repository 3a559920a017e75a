#include <doctest/doctest.h>

#include "oci/blob_stream.h"
#include "oci/layer_codec.h"
#include "support/image_builder.h"

using namespace sbpipe;
using namespace sbpipe::test;

namespace {
std::string drain_all(ByteSource& s) { return read_all(s, 64 << 20).value(); }
std::unique_ptr<ByteSource> mem(std::string s) { return std::make_unique<MemorySource>(std::move(s)); }
}  // namespace

TEST_SUITE("unit") {

TEST_CASE("compressing sources round-trip through the decoding hashers") {
  std::string raw = random_bytes(700000, 3) + std::string(300000, 'z');
  for (Encoding e : {Encoding::gzip, Encoding::zstd, Encoding::none}) {
    CAPTURE(encoding_name(e));
    auto compressed = drain_all(*make_compressing_source(mem(raw), e, e == Encoding::zstd ? 3 : 1));
    CHECK(sniff_encoding(compressed) == e);
    if (e == Encoding::gzip) CHECK(gunzip_bytes(compressed) == raw);
    auto hasher = make_decoding_hasher(e);
    for (size_t i = 0; i < compressed.size(); i += 4093)
      REQUIRE(hasher->update(std::span<const char>(compressed).subspan(i, std::min<size_t>(4093, compressed.size() - i))));
    CHECK(hasher->finish_hex().value() == sha256_hex(raw));
  }
}

TEST_CASE("gzip hasher: concatenated members, truncation, garbage") {
  std::string a = "first part ", b = "second part";
  auto hasher = make_decoding_hasher(Encoding::gzip);
  REQUIRE(hasher->update(gzip_bytes(a) + gzip_bytes(b)));
  CHECK(hasher->finish_hex().value() == sha256_hex(a + b));

  std::string gz = gzip_bytes(random_bytes(50000, 1));
  auto cut = make_decoding_hasher(Encoding::gzip);
  REQUIRE(cut->update(gz.substr(0, gz.size() / 2)));
  CHECK(cut->finish_hex().error().message() == "gzip stream ends early (truncated)");

  auto garbage = make_decoding_hasher(Encoding::gzip);
  CHECK(garbage->update(std::string("\x1f\x8b\x08\x00garbagegarbage", 18)).error().kind() == ErrorKind::invalid_input);
}

TEST_CASE("VerifyingSource: passes good bytes; withholds the last bytes of bad ones") {
  TestLayer layer = make_layer({{"f", random_bytes(300000, 9)}}, true);
  BlobExpectation good{Digest{layer.stored_hex()}, layer.stored.size(), Encoding::gzip, Digest{layer.diff_id_hex()}, "layer"};
  VerifyingSource ok(mem(layer.stored), good);
  CHECK(drain_all(ok) == layer.stored);
  CHECK(ok.digest().hex == layer.stored_hex());

  SUBCASE("digest differs") {
    auto bad = good;
    bad.digest = Digest{std::string(64, '0')};
    VerifyingSource v(mem(layer.stored), bad);
    auto r = read_all(v, 64 << 20);
    CHECK(r.error().message() == "layer: content is sha256:" + layer.stored_hex() + ", not the sha256:" + std::string(64, '0') +
                                     " its name or descriptor claims");
  }
  SUBCASE("diff_id differs") {
    auto bad = good;
    bad.diff_id = Digest{std::string(64, '1')};
    VerifyingSource v(mem(layer.stored), bad);
    CHECK(read_all(v, 64 << 20).error().message().find("rootfs.diff_ids says sha256:1111") != std::string::npos);
  }
  SUBCASE("shorter than expected") {
    VerifyingSource v(mem(layer.stored.substr(0, 1000)), good);
    CHECK(read_all(v, 64 << 20).error().message().find("truncated (1000 of") != std::string::npos);
  }
  SUBCASE("the final read carries the error, not the final bytes") {
    auto bad = good;
    bad.digest = Digest{std::string(64, '0')};
    VerifyingSource v(mem(layer.stored), bad);
    std::vector<char> buf(layer.stored.size());
    auto r = v.read(buf);
    CHECK(!r);
  }
}

}  // TEST_SUITE("unit")

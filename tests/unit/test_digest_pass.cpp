// The digest pass (secureboot/digest_pass.h) against `openssl dgst` over
// the same bytes written out: ranges across chunk borders, trailing zeros,
// more digests than cores, one that goes back in the file (computed apart),
// and a range that leaves the file.

#include <doctest/doctest.h>

#include <cstdio>

#include "core/random_access.h"
#include "secureboot/digest_pass.h"
#include "support/image_builder.h"
#include "support/process.h"
#include "support/secureboot_fixtures.h"

namespace sbpipe::test {
namespace {

std::string hex(const std::string& raw) {
  std::string out;
  char b[3];
  for (unsigned char c : raw) {
    std::snprintf(b, sizeof b, "%02x", c);
    out += b;
  }
  return out;
}

// What `openssl dgst` says of the task's bytes: its ranges in order, then its zeros.
std::string openssl_says(const std::string& data, const DigestTask& task, const fs::path& scratch) {
  std::string bytes;
  for (const auto& r : task.ranges) bytes += data.substr(r.offset, r.length);
  bytes.append(task.zeros, '\0');
  write_file(scratch, bytes);
  std::string out = must_run({"openssl", "dgst", "-" + task.algorithm, "-r", scratch.string()});
  return out.substr(0, out.find(' '));
}

}  // namespace

TEST_SUITE("unit") {

TEST_CASE("digest pass: every digest equals openssl dgst over its bytes, however the tasks are spread") {
  TempDir dir;
  const uint64_t mib = 1 << 20;
  const std::string data = random_bytes(13 * mib + 12345, 28);  // four 4 MiB chunks and a tail
  write_file(dir / "data", data);
  auto file = open_random_access(dir / "data");
  REQUIRE(file);

  std::vector<std::vector<DigestTask>> groups{
      // An Authenticode-like walk: the file with two holes, in several digests.
      {DigestTask{"sha256", {{0, 216}, {220, 100}, {328, data.size() - 328 - 4000}}},
       DigestTask{"sha1", {{0, 216}, {220, 100}, {328, data.size() - 328 - 4000}}}},
      // Banks over sections that straddle chunk borders, one with a VirtualSize tail of zeros.
      {DigestTask{"sha256", {{4 * mib - 10, 20}}}, DigestTask{"sha256", {{5 * mib, 7 * mib + 3}}, 4096},
       DigestTask{"sha256", {{data.size() - 1, 1}}}},
      {DigestTask{"sha384", {{4 * mib - 10, 20}}}, DigestTask{"sha384", {{5 * mib, 7 * mib + 3}}, 4096}},
      {DigestTask{"sha512", {{4 * mib - 10, 20}}}, DigestTask{"sha512", {{5 * mib, 7 * mib + 3}}, 4096},
       // Back in the file (overlapping sections): computed apart.
       DigestTask{"sha512", {{8 * mib, 100}, {2 * mib, 3 * mib}}},
       // Nothing to hash but zeros.
       DigestTask{"sha256", {}, 10}}};
  auto expected = groups;
  REQUIRE(run_digest_pass(**file, groups));
  for (size_t g = 0; g < groups.size(); ++g)
    for (size_t t = 0; t < groups[g].size(); ++t) {
      CAPTURE(g);
      CAPTURE(t);
      CHECK(hex(groups[g][t].digest) == openssl_says(data, expected[g][t], dir / "bytes"));
    }
}

TEST_CASE("digest pass: a range past the end, or a digest it does not know, is refused before any read") {
  TempDir dir;
  write_file(dir / "data", random_bytes(1000, 3));
  auto file = open_random_access(dir / "data");
  REQUIRE(file);
  std::vector<std::vector<DigestTask>> past{{DigestTask{"sha256", {{900, 101}}}}};
  auto r = run_digest_pass(**file, past);
  REQUIRE_FALSE(r);
  CHECK(r.error().message() == "a hashed range leaves the file");
  std::vector<std::vector<DigestTask>> unknown{{DigestTask{"md5", {{0, 10}}}}};
  CHECK(run_digest_pass(**file, unknown).error().message() == "no digest named md5");
  std::vector<std::vector<DigestTask>> none;
  CHECK(run_digest_pass(**file, none));
}

}  // TEST_SUITE("unit")

}  // namespace sbpipe::test

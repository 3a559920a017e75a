#pragma once
// One sequential read of a file feeding several digests at once, spread
// over the cores: verify hashes a UKI's bytes four times (the Authenticode
// SHA-256 and PCR 11's sections in three banks), and reads them once. The
// reader fills a ring of chunks; one thread per core takes whichever digest
// can go on (a digest is fed in file order, one chunk at a time, by any
// thread), so no core idles while a digest has a chunk to hash. A digest
// whose ranges go back in the file (overlapping sections) is computed
// apart, by its own reads, after the pass.

#include <string>
#include <vector>

#include "secureboot/pe.h"

namespace sbpipe {

struct DigestTask {
  std::string algorithm;          // "sha1", "sha256", "sha384", "sha512"
  std::vector<ByteRange> ranges;  // hashed in this order
  uint64_t zeros = 0;             // NUL bytes hashed after the ranges (a section's VirtualSize past its raw data)
  std::string digest;             // out: raw bytes
};

// Runs every task of every group (the groups only arrange the caller's
// tasks; the work is spread task by task). io/invalid_input when the file
// cannot be read or a range leaves it.
Status run_digest_pass(const RandomAccess& file, std::vector<std::vector<DigestTask>>& groups);

}  // namespace sbpipe

#pragma once
// Streams wrapped around a blob's bytes on their way to the registry.

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "core/clock.h"
#include "core/progress.h"
#include "core/sha256.h"
#include "oci/digest.h"
#include "oci/layer_codec.h"

namespace sbpipe {

// What a blob's bytes must turn out to be.
struct BlobExpectation {
  std::optional<Digest> digest;  // sha256 of the bytes
  std::optional<uint64_t> size;  // their count
  Encoding encoding = Encoding::none;
  std::optional<Digest> diff_id;  // sha256 of the decoded bytes (layers)
  std::string label;              // names the blob in messages
};

// Passes bytes through while hashing them. The read that completes the
// content (reaches the expected size, or meets the end) checks size, digest
// and diff_id, and returns an invalid_input error instead of the last bytes
// when one differs, so an upload carrying them is aborted before the
// registry can commit it. digest()/size() are valid after the end.
class VerifyingSource final : public ByteSource {
public:
  VerifyingSource(std::unique_ptr<ByteSource> inner, BlobExpectation expect);
  Result<size_t> read(std::span<char> buffer) override;
  const Digest& digest() const { return m_digest; }
  uint64_t size() const { return m_size; }

private:
  Status check_complete();

  std::unique_ptr<ByteSource> m_inner;
  BlobExpectation m_expect;
  Sha256 m_hash;
  std::unique_ptr<DecodingHasher> m_decoded;
  std::optional<Error> m_decode_error;  // reported after the digest check
  uint64_t m_size = 0;
  Digest m_digest;
  bool m_complete = false;
};

}  // namespace sbpipe

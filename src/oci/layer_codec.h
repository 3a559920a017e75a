#pragma once
// Layer compression: how a layer's stored bytes are encoded, streaming
// compressors for pushing uncompressed layers, and decoders that hash the
// uncompressed bytes (the layer's diff_id) without keeping them.

#include <memory>
#include <span>
#include <string>

#include "core/stream.h"

namespace sbpipe {

enum class Encoding { none, gzip, zstd };

// Recognises gzip (1f 8b) and zstd (28 b5 2f fd) magic numbers.
Encoding sniff_encoding(std::span<const char> head);
std::string encoding_name(Encoding encoding);
// "gzip", "zstd", "none" → Encoding; usage error otherwise.
Result<Encoding> parse_encoding(std::string_view name);
// The OCI layer media type for a tar layer in this encoding.
std::string layer_media_type(Encoding encoding);

// Decodes a compressed stream chunk by chunk and hashes the decoded bytes.
class DecodingHasher {
public:
  virtual ~DecodingHasher() = default;
  // invalid_input when the bytes are not valid in the encoding.
  virtual Status update(std::span<const char> data) = 0;
  // The sha256 hex of the decoded stream; invalid_input when it ended early.
  virtual Result<std::string> finish_hex() = 0;
};

// For Encoding::none the hasher hashes the bytes as they are.
std::unique_ptr<DecodingHasher> make_decoding_hasher(Encoding encoding);

// Decodes `encoded` on the fly, as containerd's compression.DecompressStream
// reads a layer: gzip members in sequence form one stream (RFC 1952 2.2;
// Go's gzip.Reader is multistream by default), zstd frames likewise;
// Encoding::none passes the bytes through. invalid_input for damaged data
// or a stream that ends inside a member or frame.
std::unique_ptr<ByteSource> make_decoding_source(std::unique_ptr<ByteSource> encoded, Encoding encoding);

// Compresses `raw` on the fly. level: gzip 1-9, zstd 1-19.
std::unique_ptr<ByteSource> make_compressing_source(std::unique_ptr<ByteSource> raw, Encoding encoding, int level);

}  // namespace sbpipe

#include "oci/layer_codec.h"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <vector>

#include "core/sha256.h"

namespace sbpipe {
namespace {

constexpr size_t k_codec_chunk = 256 * 1024;

class PlainHasher final : public DecodingHasher {
public:
  Status update(std::span<const char> data) override {
    m_hash.update(data);
    return {};
  }
  Result<std::string> finish_hex() override { return m_hash.finish_hex(); }

private:
  Sha256 m_hash;
};

class GzipHasher final : public DecodingHasher {
public:
  GzipHasher() : m_out(k_codec_chunk) { inflateInit2(&m_z, 16 + MAX_WBITS); }
  ~GzipHasher() override { inflateEnd(&m_z); }

  Status update(std::span<const char> data) override {
    m_z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    m_z.avail_in = static_cast<uInt>(data.size());
    m_seen_input = m_seen_input || !data.empty();
    for (;;) {
      if (m_ended) {
        if (m_z.avail_in == 0) break;
        // Concatenated gzip members form one stream (RFC 1952 §2.2).
        inflateReset(&m_z);
        m_ended = false;
      }
      m_z.next_out = reinterpret_cast<Bytef*>(m_out.data());
      m_z.avail_out = static_cast<uInt>(m_out.size());
      int rc = inflate(&m_z, Z_NO_FLUSH);
      m_hash.update(std::span<const char>(m_out.data(), m_out.size() - m_z.avail_out));
      if (rc == Z_STREAM_END) {
        m_ended = true;
        continue;
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR)
        return fail(ErrorKind::invalid_input, std::string("not valid gzip data (") + (m_z.msg ? m_z.msg : "inflate error") + ")");
      // Done with this chunk once input is used up and output had room left.
      if (m_z.avail_out != 0) break;
    }
    return {};
  }
  Result<std::string> finish_hex() override {
    if (!m_ended || !m_seen_input) return fail(ErrorKind::invalid_input, "gzip stream ends early (truncated)");
    return m_hash.finish_hex();
  }

private:
  z_stream m_z{};
  std::vector<char> m_out;
  Sha256 m_hash;
  bool m_ended = false;
  bool m_seen_input = false;
};

class ZstdHasher final : public DecodingHasher {
public:
  ZstdHasher() : m_dctx(ZSTD_createDCtx()), m_out(k_codec_chunk) {}
  ~ZstdHasher() override { ZSTD_freeDCtx(m_dctx); }

  Status update(std::span<const char> data) override {
    ZSTD_inBuffer in{data.data(), data.size(), 0};
    while (in.pos < in.size) {
      ZSTD_outBuffer out{m_out.data(), m_out.size(), 0};
      size_t rc = ZSTD_decompressStream(m_dctx, &out, &in);
      if (ZSTD_isError(rc))
        return fail(ErrorKind::invalid_input, std::string("not valid zstd data (") + ZSTD_getErrorName(rc) + ")");
      m_hash.update(std::span<const char>(m_out.data(), out.pos));
      m_frame_done = rc == 0;
    }
    return {};
  }
  Result<std::string> finish_hex() override {
    if (!m_frame_done) return fail(ErrorKind::invalid_input, "zstd stream ends early (truncated)");
    return m_hash.finish_hex();
  }

private:
  ZSTD_DCtx* m_dctx;
  std::vector<char> m_out;
  Sha256 m_hash;
  bool m_frame_done = false;
};

class GzipSource final : public ByteSource {
public:
  GzipSource(std::unique_ptr<ByteSource> raw, int level) : m_raw(std::move(raw)), m_in(k_codec_chunk) {
    // windowBits 16+15: gzip wrapper; zlib writes mtime 0, so output is reproducible.
    deflateInit2(&m_z, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  }
  ~GzipSource() override { deflateEnd(&m_z); }

  Result<size_t> read(std::span<char> buffer) override {
    if (m_done) return 0;
    m_z.next_out = reinterpret_cast<Bytef*>(buffer.data());
    m_z.avail_out = static_cast<uInt>(buffer.size());
    while (m_z.avail_out == buffer.size()) {
      if (m_z.avail_in == 0 && !m_eof) {
        auto n = m_raw->read(m_in);
        if (!n) return fail(n.error());
        m_eof = *n == 0;
        m_z.next_in = reinterpret_cast<Bytef*>(m_in.data());
        m_z.avail_in = static_cast<uInt>(*n);
      }
      int rc = deflate(&m_z, m_eof ? Z_FINISH : Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        m_done = true;
        break;
      }
      if (rc == Z_STREAM_ERROR) return fail(ErrorKind::permanent, "gzip compression failed");
    }
    return buffer.size() - m_z.avail_out;
  }

private:
  std::unique_ptr<ByteSource> m_raw;
  std::vector<char> m_in;
  z_stream m_z{};
  bool m_eof = false;
  bool m_done = false;
};

class ZstdSource final : public ByteSource {
public:
  ZstdSource(std::unique_ptr<ByteSource> raw, int level) : m_raw(std::move(raw)), m_cctx(ZSTD_createCCtx()), m_in(k_codec_chunk) {
    ZSTD_CCtx_setParameter(m_cctx, ZSTD_c_compressionLevel, level);
  }
  ~ZstdSource() override { ZSTD_freeCCtx(m_cctx); }

  Result<size_t> read(std::span<char> buffer) override {
    ZSTD_outBuffer out{buffer.data(), buffer.size(), 0};
    while (out.pos == 0 && !m_done) {
      if (m_inbuf.pos == m_inbuf.size && !m_eof) {
        auto n = m_raw->read(m_in);
        if (!n) return fail(n.error());
        m_eof = *n == 0;
        m_inbuf = ZSTD_inBuffer{m_in.data(), *n, 0};
      }
      size_t rc = ZSTD_compressStream2(m_cctx, &out, &m_inbuf, m_eof ? ZSTD_e_end : ZSTD_e_continue);
      if (ZSTD_isError(rc)) return fail(ErrorKind::permanent, std::string("zstd compression failed: ") + ZSTD_getErrorName(rc));
      if (m_eof && rc == 0) m_done = true;
    }
    return out.pos;
  }

private:
  std::unique_ptr<ByteSource> m_raw;
  ZSTD_CCtx* m_cctx;
  std::vector<char> m_in;
  ZSTD_inBuffer m_inbuf{nullptr, 0, 0};
  bool m_eof = false;
  bool m_done = false;
};

// Pulls encoded bytes as the caller reads decoded ones.
class GunzipSource final : public ByteSource {
public:
  explicit GunzipSource(std::unique_ptr<ByteSource> encoded) : m_encoded(std::move(encoded)), m_in(k_codec_chunk) {
    inflateInit2(&m_z, 16 + MAX_WBITS);
  }
  ~GunzipSource() override { inflateEnd(&m_z); }

  Result<size_t> read(std::span<char> buffer) override {
    if (buffer.empty()) return size_t{0};
    m_z.next_out = reinterpret_cast<Bytef*>(buffer.data());
    m_z.avail_out = static_cast<uInt>(std::min<size_t>(buffer.size(), 1u << 30));
    uInt room = m_z.avail_out;
    while (m_z.avail_out == room) {
      if (m_z.avail_in == 0) {
        auto n = m_encoded->read(m_in);
        if (!n) return fail(n.error());
        if (*n == 0) {
          if (m_in_member || !m_seen_input) return fail(ErrorKind::invalid_input, "gzip stream ends early (truncated)");
          return size_t{0};
        }
        m_seen_input = true;
        m_z.next_in = reinterpret_cast<Bytef*>(m_in.data());
        m_z.avail_in = static_cast<uInt>(*n);
      }
      if (!m_in_member) {
        inflateReset(&m_z);  // the next member of a multi-member stream
        m_in_member = true;
      }
      int rc = inflate(&m_z, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        m_in_member = false;
        continue;
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR)
        return fail(ErrorKind::invalid_input, std::string("not valid gzip data (") + (m_z.msg ? m_z.msg : "inflate error") + ")");
    }
    return static_cast<size_t>(room - m_z.avail_out);
  }

private:
  std::unique_ptr<ByteSource> m_encoded;
  std::vector<char> m_in;
  z_stream m_z{};
  bool m_in_member = false;
  bool m_seen_input = false;
};

class UnzstdSource final : public ByteSource {
public:
  explicit UnzstdSource(std::unique_ptr<ByteSource> encoded)
      : m_encoded(std::move(encoded)), m_dctx(ZSTD_createDCtx()), m_in(k_codec_chunk) {}
  ~UnzstdSource() override { ZSTD_freeDCtx(m_dctx); }

  Result<size_t> read(std::span<char> buffer) override {
    ZSTD_outBuffer out{buffer.data(), buffer.size(), 0};
    while (out.pos == 0 && !buffer.empty()) {
      if (m_inbuf.pos == m_inbuf.size) {
        auto n = m_encoded->read(m_in);
        if (!n) return fail(n.error());
        if (*n == 0) {
          if (!m_frame_done) return fail(ErrorKind::invalid_input, "zstd stream ends early (truncated)");
          return size_t{0};
        }
        m_inbuf = ZSTD_inBuffer{m_in.data(), *n, 0};
      }
      size_t rc = ZSTD_decompressStream(m_dctx, &out, &m_inbuf);
      if (ZSTD_isError(rc))
        return fail(ErrorKind::invalid_input, std::string("not valid zstd data (") + ZSTD_getErrorName(rc) + ")");
      m_frame_done = rc == 0;
    }
    return out.pos;
  }

private:
  std::unique_ptr<ByteSource> m_encoded;
  ZSTD_DCtx* m_dctx;
  std::vector<char> m_in;
  ZSTD_inBuffer m_inbuf{nullptr, 0, 0};
  bool m_frame_done = false;
};

}  // namespace

std::unique_ptr<ByteSource> make_decoding_source(std::unique_ptr<ByteSource> encoded, Encoding encoding) {
  switch (encoding) {
  case Encoding::gzip: return std::make_unique<GunzipSource>(std::move(encoded));
  case Encoding::zstd: return std::make_unique<UnzstdSource>(std::move(encoded));
  case Encoding::none: return encoded;
  }
  return encoded;
}

Encoding sniff_encoding(std::span<const char> head) {
  auto b = [&](size_t i) { return static_cast<unsigned char>(head[i]); };
  if (head.size() >= 2 && b(0) == 0x1f && b(1) == 0x8b) return Encoding::gzip;
  if (head.size() >= 4 && b(0) == 0x28 && b(1) == 0xb5 && b(2) == 0x2f && b(3) == 0xfd) return Encoding::zstd;
  return Encoding::none;
}

std::string encoding_name(Encoding encoding) {
  switch (encoding) {
  case Encoding::gzip: return "gzip";
  case Encoding::zstd: return "zstd";
  case Encoding::none: return "none";
  }
  return "none";
}

Result<Encoding> parse_encoding(std::string_view name) {
  if (name == "gzip") return Encoding::gzip;
  if (name == "zstd") return Encoding::zstd;
  if (name == "none") return Encoding::none;
  return fail(ErrorKind::usage, "--compression: expected gzip, zstd or none, got '" + std::string(name) + "'");
}

std::string layer_media_type(Encoding encoding) {
  switch (encoding) {
  case Encoding::gzip: return "application/vnd.oci.image.layer.v1.tar+gzip";
  case Encoding::zstd: return "application/vnd.oci.image.layer.v1.tar+zstd";
  case Encoding::none: return "application/vnd.oci.image.layer.v1.tar";
  }
  return "";
}

std::unique_ptr<DecodingHasher> make_decoding_hasher(Encoding encoding) {
  switch (encoding) {
  case Encoding::gzip: return std::make_unique<GzipHasher>();
  case Encoding::zstd: return std::make_unique<ZstdHasher>();
  case Encoding::none: return std::make_unique<PlainHasher>();
  }
  return nullptr;
}

std::unique_ptr<ByteSource> make_compressing_source(std::unique_ptr<ByteSource> raw, Encoding encoding, int level) {
  switch (encoding) {
  case Encoding::gzip: return std::make_unique<GzipSource>(std::move(raw), level);
  case Encoding::zstd: return std::make_unique<ZstdSource>(std::move(raw), level);
  case Encoding::none: return raw;
  }
  return raw;
}

}  // namespace sbpipe

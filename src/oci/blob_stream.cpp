#include "oci/blob_stream.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>

namespace sbpipe {

VerifyingSource::VerifyingSource(std::unique_ptr<ByteSource> inner, BlobExpectation expect)
    : m_inner(std::move(inner)), m_expect(std::move(expect)) {
  if (m_expect.diff_id) m_decoded = make_decoding_hasher(m_expect.encoding);
}

Result<size_t> VerifyingSource::read(std::span<char> buffer) {
  if (m_complete) return 0;
  if (m_expect.size) {
    uint64_t left = *m_expect.size - m_size;
    if (buffer.size() > left) buffer = buffer.first(static_cast<size_t>(left));
  }
  size_t n = 0;
  if (!buffer.empty()) {
    auto got = m_inner->read(buffer);
    if (!got) return fail(got.error().with_context(m_expect.label));
    n = *got;
  }
  std::span<const char> chunk(buffer.data(), n);
  m_hash.update(chunk);
  m_size += n;
  if (m_decoded && !m_decode_error) {
    // A damaged blob usually fails both checks; the digest names it better.
    if (auto st = m_decoded->update(chunk); !st) m_decode_error = st.error().with_context(m_expect.label);
  }
  bool at_end = n == 0 || (m_expect.size && m_size == *m_expect.size);
  if (at_end) {
    if (auto st = check_complete(); !st) return fail(st.error());
  }
  return n;
}

Status VerifyingSource::check_complete() {
  m_complete = true;
  const auto& label = m_expect.label;
  if (m_expect.size && m_size != *m_expect.size)
    return fail(ErrorKind::invalid_input,
                label + ": truncated (" + std::to_string(m_size) + " of " + std::to_string(*m_expect.size) + " bytes)");
  m_digest = Digest{m_hash.finish_hex()};
  if (m_expect.digest && m_digest != *m_expect.digest)
    return fail(ErrorKind::invalid_input, label + ": content is " + m_digest.str() + ", not the " + m_expect.digest->str() +
                                              " its name or descriptor claims");
  if (m_decode_error) return fail(*m_decode_error);
  if (m_decoded) {
    auto decoded = m_decoded->finish_hex();
    if (!decoded) return fail(decoded.error().with_context(label));
    if (*decoded != m_expect.diff_id->hex)
      return fail(ErrorKind::invalid_input, label + ": uncompressed content is sha256:" + *decoded +
                                                ", but the image config's rootfs.diff_ids says " + m_expect.diff_id->str());
  }
  return {};
}

}  // namespace sbpipe

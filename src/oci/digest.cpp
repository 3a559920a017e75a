#include "oci/digest.h"

#include "core/sha256.h"

namespace sbpipe {

bool Digest::is_hex64(std::string_view text) {
  if (text.size() != 64) return false;
  for (char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

Result<Digest> Digest::parse(std::string_view text) {
  if (!text.starts_with("sha256:")) {
    auto colon = text.find(':');
    if (colon != std::string_view::npos && colon < 16)
      return fail(ErrorKind::invalid_input,
                  "unsupported digest algorithm '" + std::string(text.substr(0, colon)) + "' (only sha256)");
    return fail(ErrorKind::invalid_input, "not a digest: '" + std::string(text.substr(0, 80)) + "'");
  }
  auto hex = text.substr(7);
  if (!is_hex64(hex)) return fail(ErrorKind::invalid_input, "not a sha256 digest: '" + std::string(text.substr(0, 80)) + "'");
  return Digest{std::string(hex)};
}

Digest Digest::of(std::string_view data) { return Digest{Sha256::hex_of(data)}; }

}  // namespace sbpipe

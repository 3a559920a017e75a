#include "webhook/signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/hex.h"

namespace sbpipe {

std::string webhook_signature(std::string_view secret, std::string_view body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(body.data()),
       body.size(), mac, &len);
  return "sha256=" + to_hex(std::string_view(reinterpret_cast<const char*>(mac), len));
}

bool verify_webhook_signature(const std::vector<std::string>& secrets, std::string_view body, std::string_view header) {
  if (header.size() != 7 + 64 || header.substr(0, 7) != "sha256=") return false;
  bool ok = false;
  for (const auto& secret : secrets) {
    std::string expected = webhook_signature(secret, body);
    ok |= CRYPTO_memcmp(expected.data(), header.data(), expected.size()) == 0;
  }
  return ok;
}

}  // namespace sbpipe

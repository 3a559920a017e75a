#include "core/sha256.h"

#include <openssl/evp.h>

#include <stdexcept>

#include "core/hex.h"

namespace sbpipe {

template <HashAlgorithm A>
struct Hash<A>::Impl {
  EVP_MD_CTX* ctx = nullptr;
  Impl() {
    ctx = EVP_MD_CTX_new();
    const EVP_MD* md = A == HashAlgorithm::sha256 ? EVP_sha256() : EVP_sha512();
    if (ctx == nullptr || EVP_DigestInit_ex(ctx, md, nullptr) != 1)
      throw std::runtime_error(A == HashAlgorithm::sha256 ? "OpenSSL: cannot initialise SHA-256"
                                                          : "OpenSSL: cannot initialise SHA-512");
  }
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

template <HashAlgorithm A>
Hash<A>::Hash() : m_impl(std::make_unique<Impl>()) {}
template <HashAlgorithm A>
Hash<A>::~Hash() = default;
template <HashAlgorithm A>
Hash<A>::Hash(Hash&&) noexcept = default;
template <HashAlgorithm A>
Hash<A>& Hash<A>::operator=(Hash&&) noexcept = default;

template <HashAlgorithm A>
void Hash<A>::update(std::span<const char> data) {
  EVP_DigestUpdate(m_impl->ctx, data.data(), data.size());
}

template <HashAlgorithm A>
std::string Hash<A>::finish_hex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(m_impl->ctx, md, &len);
  return to_hex(std::string_view(reinterpret_cast<const char*>(md), len));
}

template <HashAlgorithm A>
std::string Hash<A>::hex_of(std::string_view data) {
  Hash h;
  h.update(data);
  return h.finish_hex();
}

template <HashAlgorithm A>
std::string Hash<A>::bytes_of(std::string_view data) {
  return *from_hex(hex_of(data));
}

template class Hash<HashAlgorithm::sha256>;
template class Hash<HashAlgorithm::sha512>;

}  // namespace sbpipe

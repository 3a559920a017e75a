#pragma once
// Helpers for the files that call OpenSSL: owning pointers and the error
// queue turned into text. Included only by the .cpp files that do
// cryptography (ARCHITECTURE.md lists them).

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>

namespace sbpipe::ossl {

struct Free {
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(PKCS7* p) const { PKCS7_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
  void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
  void operator()(ASN1_OBJECT* p) const { ASN1_OBJECT_free(p); }
};
template <class T>
using Ptr = std::unique_ptr<T, Free>;

// A read-only memory BIO over `bytes`, which must outlive it.
inline Ptr<BIO> memory_bio(std::string_view bytes) {
  return Ptr<BIO>(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
}

// The oldest queued OpenSSL error as text ("unknown" when none), then clears
// the queue so the next call starts clean.
inline std::string take_error() {
  unsigned long code = ERR_get_error();
  std::string text = "unknown";
  if (code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    const char* reason = ERR_reason_error_string(code);
    text = reason != nullptr ? reason : buf;
  }
  ERR_clear_error();
  return text;
}

}  // namespace sbpipe::ossl

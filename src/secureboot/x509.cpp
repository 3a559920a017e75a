#include "secureboot/x509.h"

#include <openssl/pem.h>

#include <ctime>

#include "core/openssl_util.h"
#include "core/sha256.h"

namespace sbpipe {
namespace {

std::string name_text(const X509_NAME* name) {
  ossl::Ptr<BIO> out(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(out.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long n = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::chrono::system_clock::time_point time_of(const ASN1_TIME* t) {
  struct tm tm {};
  ASN1_TIME_to_tm(t, &tm);
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

CertificateInfo info_of(X509* cert) {
  CertificateInfo info;
  info.subject = name_text(X509_get_subject_name(cert));
  info.issuer = name_text(X509_get_issuer_name(cert));
  info.not_before = time_of(X509_get0_notBefore(cert));
  info.not_after = time_of(X509_get0_notAfter(cert));
  if (EVP_PKEY* key = X509_get0_pubkey(cert)) {
    info.key_bits = EVP_PKEY_get_bits(key);
    int id = EVP_PKEY_get_base_id(key);
    info.key_type = id == EVP_PKEY_RSA ? "RSA" : id == EVP_PKEY_EC ? "EC" : OBJ_nid2sn(id);
  }
  unsigned char* der = nullptr;
  int n = i2d_X509(cert, &der);
  if (n > 0) {
    info.der.assign(reinterpret_cast<char*>(der), static_cast<size_t>(n));
    OPENSSL_free(der);
  }
  info.sha256 = Sha256::hex_of(info.der);
  return info;
}

// A public key from a PEM text holding either a public key or a certificate.
ossl::Ptr<EVP_PKEY> public_key_of(std::string_view pem) {
  auto bio = ossl::memory_bio(pem);
  if (EVP_PKEY* key = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr)) return ossl::Ptr<EVP_PKEY>(key);
  ERR_clear_error();
  bio = ossl::memory_bio(pem);
  ossl::Ptr<X509> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (!cert) return nullptr;
  return ossl::Ptr<EVP_PKEY>(X509_get_pubkey(cert.get()));
}

}  // namespace

Result<std::vector<CertificateInfo>> parse_pem_certificates(std::string_view pem, std::string_view label) {
  std::vector<CertificateInfo> out;
  auto bio = ossl::memory_bio(pem);
  while (true) {
    ossl::Ptr<X509> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) break;
    out.push_back(info_of(cert.get()));
  }
  unsigned long last = ERR_peek_last_error();
  bool clean_end = ERR_GET_REASON(last) == PEM_R_NO_START_LINE;
  ERR_clear_error();
  if (out.empty()) return fail(ErrorKind::invalid_input, std::string(label) + ": no PEM certificate found");
  if (last != 0 && !clean_end) return fail(ErrorKind::invalid_input, std::string(label) + ": a certificate does not parse");
  return out;
}

Result<bool> same_public_key(std::string_view pem_a, std::string_view pem_b) {
  auto a = public_key_of(pem_a);
  if (!a) return fail(ErrorKind::invalid_input, "first public key does not parse");
  auto b = public_key_of(pem_b);
  if (!b) return fail(ErrorKind::invalid_input, "second public key does not parse");
  return EVP_PKEY_eq(a.get(), b.get()) == 1;
}

std::vector<std::string> pem_labels(std::string_view text) {
  constexpr std::string_view begin = "-----BEGIN ", dashes = "-----";
  std::vector<std::string> labels;
  for (size_t at = text.find(begin); at != std::string_view::npos; at = text.find(begin, at + 1)) {
    size_t start = at + begin.size();
    size_t end = text.find(dashes, start);
    size_t eol = text.find('\n', start);
    if (end == std::string_view::npos || (eol != std::string_view::npos && eol < end)) continue;
    labels.emplace_back(text.substr(start, end - start));
  }
  return labels;
}

bool holds_private_key(std::string_view text) {
  for (const auto& label : pem_labels(text))
    if (label.ends_with("PRIVATE KEY")) return true;
  return false;
}

std::string format_date(std::chrono::system_clock::time_point when) {
  std::time_t t = std::chrono::system_clock::to_time_t(when);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

}  // namespace sbpipe

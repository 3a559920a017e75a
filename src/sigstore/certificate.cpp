#include "sigstore/certificate.h"

#include <openssl/ct.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <optional>

#include "core/openssl_util.h"
#include "core/sha256.h"

namespace sbpipe {

struct Certificate::Impl {
  ossl::Ptr<X509> cert;
  std::string der;
};

namespace {

int64_t to_unix(const ASN1_TIME* time) {
  struct tm parsed {};
  if (ASN1_TIME_to_tm(time, &parsed) != 1) return 0;
  return static_cast<int64_t>(timegm(&parsed));
}

std::string asn1_text(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), static_cast<size_t>(ASN1_STRING_length(s)));
}

// The contents of the extension `oid` (its OCTET STRING), or nullopt.
std::optional<std::string> extension_value(X509* cert, const char* oid) {
  ossl::Ptr<ASN1_OBJECT> obj(OBJ_txt2obj(oid, 1));
  int at = obj ? X509_get_ext_by_OBJ(cert, obj.get(), -1) : -1;
  if (at < 0) return std::nullopt;
  return asn1_text(X509_EXTENSION_get_data(X509_get_ext(cert, at)));
}

}  // namespace

std::string unix_time_text(int64_t t) {
  time_t tt = static_cast<time_t>(t);
  struct tm utc {};
  gmtime_r(&tt, &utc);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

namespace {

// Whether the certificate's extended key usage allows code signing; a
// certificate without the extension allows anything (`absent_ok`).
bool allows_code_signing(X509* cert, bool absent_ok) {
  bool has_eku = (X509_get_extension_flags(cert) & EXFLAG_XKUSAGE) != 0;
  if (!has_eku) return absent_ok;
  uint32_t eku = X509_get_extended_key_usage(cert);
  return (eku & (XKU_CODE_SIGN | XKU_ANYEKU)) != 0;
}

}  // namespace

Result<Certificate> Certificate::parse_der(std::string_view der, std::string_view label) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ossl::Ptr<X509> cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size())
    return fail(ErrorKind::invalid_input, std::string(label) + ": not a DER X.509 certificate (" + ossl::take_error() + ")");
  // Computes the cached extension flags now, so later const reads do not race.
  X509_check_purpose(cert.get(), -1, 0);
  auto impl = std::make_shared<Impl>();
  impl->cert = std::move(cert);
  impl->der = std::string(der);
  return Certificate(std::move(impl));
}

Result<Certificate> Certificate::parse_pem(std::string_view pem, std::string_view label) {
  auto bio = ossl::memory_bio(pem);
  ossl::Ptr<X509> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return fail(ErrorKind::invalid_input, std::string(label) + ": no PEM certificate (" + ossl::take_error() + ")");
  unsigned char* out = nullptr;
  int len = i2d_X509(cert.get(), &out);
  if (len <= 0) return fail(ErrorKind::invalid_input, std::string(label) + ": the certificate does not encode");
  std::string der(reinterpret_cast<char*>(out), static_cast<size_t>(len));
  OPENSSL_free(out);
  return parse_der(der, label);
}

const std::string& Certificate::der() const { return m_impl->der; }
int64_t Certificate::not_before() const { return to_unix(X509_get0_notBefore(m_impl->cert.get())); }
int64_t Certificate::not_after() const { return to_unix(X509_get0_notAfter(m_impl->cert.get())); }

std::vector<std::string> Certificate::subject_alternative_names() const {
  std::vector<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(m_impl->cert.get(), NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type == GEN_EMAIL) out.push_back(asn1_text(name->d.rfc822Name));
    if (name->type == GEN_URI) out.push_back(asn1_text(name->d.uniformResourceIdentifier));
  }
  GENERAL_NAMES_free(names);
  return out;
}

std::string Certificate::oidc_issuer() const {
  if (auto v2 = extension_value(m_impl->cert.get(), k_fulcio_issuer_oid)) {
    const auto* p = reinterpret_cast<const unsigned char*>(v2->data());
    ASN1_UTF8STRING* s = d2i_ASN1_UTF8STRING(nullptr, &p, static_cast<long>(v2->size()));
    if (s == nullptr) {
      ERR_clear_error();
      return "";
    }
    std::string issuer = asn1_text(s);
    ASN1_UTF8STRING_free(s);
    return issuer;
  }
  return extension_value(m_impl->cert.get(), k_fulcio_issuer_v1_oid).value_or("");
}

Result<PublicKey> Certificate::public_key() const {
  EVP_PKEY* key = X509_get0_pubkey(m_impl->cert.get());
  unsigned char* out = nullptr;
  int len = key ? i2d_PUBKEY(key, &out) : 0;
  if (len <= 0) return fail(ErrorKind::invalid_input, "the certificate's public key does not parse");
  std::string der(reinterpret_cast<char*>(out), static_cast<size_t>(len));
  OPENSSL_free(out);
  return PublicKey::parse_der(der, "the certificate's public key");
}

std::string Certificate::subject_text() const {
  char buf[512];
  X509_NAME_oneline(X509_get_subject_name(m_impl->cert.get()), buf, sizeof buf);
  return buf;
}

Result<Certificate> verify_code_signing_path(const Certificate& leaf, const std::vector<Certificate>& ca_chain, int64_t at) {
  auto bad = [](const std::string& why) { return fail(ErrorKind::invalid_input, why); };
  if (ca_chain.empty()) return bad("the certificate authority has no certificates");
  X509* leaf_cert = leaf.m_impl->cert.get();
  if (!allows_code_signing(leaf_cert, false))
    return bad("the certificate is not for code signing (no code-signing extended key usage)");
  ossl::Ptr<X509_STORE> store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), ca_chain.back().m_impl->cert.get());
  struct FreeStack {
    void operator()(STACK_OF(X509) * stack) const { sk_X509_free(stack); }
  };
  std::unique_ptr<STACK_OF(X509), FreeStack> intermediates(sk_X509_new_null());
  for (size_t i = 0; i + 1 < ca_chain.size(); ++i) sk_X509_push(intermediates.get(), ca_chain[i].m_impl->cert.get());
  ossl::Ptr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), leaf_cert, intermediates.get()) != 1)
    return bad("cannot set up the certificate check (" + ossl::take_error() + ")");
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(at));
  if (X509_verify_cert(ctx.get()) != 1) {
    int code = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return bad("the certificate does not chain to the certificate authority at " + unix_time_text(at) + " (" +
               X509_verify_cert_error_string(code) + ")");
  }
  STACK_OF(X509)* path = X509_STORE_CTX_get0_chain(ctx.get());
  for (int i = 1; i < sk_X509_num(path); ++i)
    if (!allows_code_signing(sk_X509_value(path, i), true))
      return bad("a certificate authority of the path does not allow code signing (its extended key usage)");
  X509* issuer = sk_X509_num(path) > 1 ? sk_X509_value(path, 1) : leaf_cert;
  for (const auto& ca : ca_chain)
    if (X509_cmp(ca.m_impl->cert.get(), issuer) == 0) return ca;
  return bad("the certificate's issuer is not among the certificate authority's certificates");
}

Result<std::vector<EmbeddedSct>> embedded_scts(const Certificate& leaf, const Certificate& issuer) {
  auto bad = [](const std::string& why) { return fail(ErrorKind::invalid_input, "the certificate's SCTs: " + why); };
  X509* cert = leaf.m_impl->cert.get();
  std::vector<EmbeddedSct> out;
  int at = X509_get_ext_by_NID(cert, NID_ct_precert_scts, -1);
  if (at < 0) return out;
  struct FreeScts {
    void operator()(STACK_OF(SCT) * list) const { SCT_LIST_free(list); }
  };
  std::unique_ptr<STACK_OF(SCT), FreeScts> list(static_cast<STACK_OF(SCT)*>(X509V3_EXT_d2i(X509_get_ext(cert, at))));
  if (!list) {
    ERR_clear_error();
    return bad("the list does not parse");
  }
  // The precertificate's TBSCertificate: the leaf's, without the SCT list.
  ossl::Ptr<X509> precert(X509_dup(cert));
  X509_EXTENSION* removed = X509_delete_ext(precert.get(), X509_get_ext_by_NID(precert.get(), NID_ct_precert_scts, -1));
  X509_EXTENSION_free(removed);
  unsigned char* tbs = nullptr;
  int tbs_len = i2d_re_X509_tbs(precert.get(), &tbs);
  if (tbs_len <= 0) return bad("the TBSCertificate does not encode");
  std::string tbs_der(reinterpret_cast<char*>(tbs), static_cast<size_t>(tbs_len));
  OPENSSL_free(tbs);
  unsigned char* spki = nullptr;
  int spki_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(issuer.m_impl->cert.get()), &spki);
  if (spki_len <= 0) return bad("the issuer's key does not encode");
  std::string issuer_key_hash = Sha256::bytes_of(std::string_view(reinterpret_cast<char*>(spki), static_cast<size_t>(spki_len)));
  OPENSSL_free(spki);
  auto put = [](std::string& to, uint64_t value, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) to.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  };
  for (int i = 0; i < sk_SCT_num(list.get()); ++i) {
    const SCT* sct = sk_SCT_value(list.get(), i);
    if (SCT_get_version(sct) != SCT_VERSION_V1) return bad("an SCT of another version than 1");
    if (SCT_get_signature_nid(sct) != NID_ecdsa_with_SHA256) return bad("an SCT signed otherwise than with ECDSA SHA-256");
    unsigned char* id = nullptr;
    size_t id_len = SCT_get0_log_id(sct, &id);
    unsigned char* ext = nullptr;
    size_t ext_len = SCT_get0_extensions(sct, &ext);
    unsigned char* sig = nullptr;
    size_t sig_len = SCT_get0_signature(sct, &sig);
    EmbeddedSct entry;
    entry.log_id.assign(reinterpret_cast<char*>(id), id_len);
    entry.timestamp_ms = static_cast<int64_t>(SCT_get_timestamp(sct));
    entry.signature.assign(reinterpret_cast<char*>(sig), sig_len);
    std::string& d = entry.signed_data;
    put(d, 0, 1);  // sct_version v1
    put(d, 0, 1);  // signature_type certificate_timestamp
    put(d, SCT_get_timestamp(sct), 8);
    put(d, 1, 2);  // entry_type precert_entry
    d += issuer_key_hash;
    put(d, tbs_der.size(), 3);
    d += tbs_der;
    put(d, ext_len, 2);
    d.append(reinterpret_cast<char*>(ext), ext_len);
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace sbpipe

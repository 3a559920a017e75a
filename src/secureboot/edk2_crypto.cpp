#include "secureboot/edk2_crypto.h"

#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <optional>

#include "core/openssl_util.h"

namespace sbpipe {
namespace {

constexpr size_t k_max_chain = 100;  // X509_VERIFY_PARAM's default depth in 1.1.1

// 1.1.1n crypto/x509v3/v3_purp.c X509_supported_extension, without
// NID_sbgp_ipAddrBlock and NID_sbgp_autonomousSysNum (OPENSSL_NO_RFC3779).
// NID_crl_distribution_points is in 1.1.1n's list (the corpus case
// crldp-critical: OVMF starts the image).
constexpr int k_supported_critical[] = {
    NID_netscape_cert_type,      NID_key_usage,         NID_subject_alt_name,   NID_basic_constraints, NID_certificate_policies,
    NID_crl_distribution_points, NID_ext_key_usage,     NID_policy_constraints, NID_proxyCertInfo,     NID_name_constraints,
    NID_policy_mappings,         NID_inhibit_any_policy};

std::string name_of(X509* cert) {
  char buf[512];
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
  return buf;
}

std::string nid_name(int nid) {
  const char* s = OBJ_nid2sn(nid);
  return s != nullptr ? s : "an unknown algorithm";
}

// What 1.1.1's x509v3_cache_extensions records of a certificate (the flags
// check_ca, X509_check_issued and check_chain_extensions read), computed
// from the extensions themselves so OpenSSL 3's own cache rules play no part.
struct Facts {
  bool v1 = false;
  bool bcons = false, ca = false;
  long pathlen = -1;
  bool kusage = false;
  unsigned kusage_bits = 0;
  bool nscert = false;
  unsigned nscert_bits = 0;
  bool proxy = false;
  bool self_issued = false, self_signed = false;
  std::string unsupported_critical;  // the first critical extension 1.1.1 does not support
};

bool ku_reject(const Facts& f, unsigned usage) { return f.kusage && (f.kusage_bits & usage) == 0; }

Facts facts_of(X509* x) {
  Facts f;
  f.v1 = X509_get_version(x) == 0;
  if (auto* bs = static_cast<BASIC_CONSTRAINTS*>(X509_get_ext_d2i(x, NID_basic_constraints, nullptr, nullptr))) {
    f.bcons = true;
    f.ca = bs->ca != 0;
    if (bs->pathlen != nullptr)
      f.pathlen = (bs->pathlen->type == V_ASN1_NEG_INTEGER || !f.ca) ? 0 : ASN1_INTEGER_get(bs->pathlen);
    BASIC_CONSTRAINTS_free(bs);
  }
  if (auto* ku = static_cast<ASN1_BIT_STRING*>(X509_get_ext_d2i(x, NID_key_usage, nullptr, nullptr))) {
    f.kusage = true;
    if (ku->length > 0) f.kusage_bits = ku->data[0];
    if (ku->length > 1) f.kusage_bits |= static_cast<unsigned>(ku->data[1]) << 8;
    ASN1_BIT_STRING_free(ku);
  }
  if (auto* ns = static_cast<ASN1_BIT_STRING*>(X509_get_ext_d2i(x, NID_netscape_cert_type, nullptr, nullptr))) {
    f.nscert = true;
    f.nscert_bits = ns->length > 0 ? ns->data[0] : 0;
    ASN1_BIT_STRING_free(ns);
  }
  if (auto* pci = static_cast<PROXY_CERT_INFO_EXTENSION*>(X509_get_ext_d2i(x, NID_proxyCertInfo, nullptr, nullptr))) {
    f.proxy = true;
    PROXY_CERT_INFO_EXTENSION_free(pci);
  }
  f.self_issued = X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0;
  if (f.self_issued) {
    auto* akid = static_cast<AUTHORITY_KEYID*>(X509_get_ext_d2i(x, NID_authority_key_identifier, nullptr, nullptr));
    f.self_signed = X509_check_akid(x, akid) == X509_V_OK && !ku_reject(f, KU_KEY_CERT_SIGN);
    AUTHORITY_KEYID_free(akid);
  }
  for (int i = 0; i < X509_get_ext_count(x); ++i) {
    X509_EXTENSION* ext = X509_get_ext(x, i);
    if (!X509_EXTENSION_get_critical(ext)) continue;
    int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
    if (std::find(std::begin(k_supported_critical), std::end(k_supported_critical), nid) != std::end(k_supported_critical))
      continue;
    char oid[128];
    OBJ_obj2txt(oid, sizeof oid, X509_EXTENSION_get_object(ext), 0);
    f.unsupported_critical = oid;
    break;
  }
  ERR_clear_error();
  return f;
}

// 1.1.1 check_ca: 0 not a CA, 1 by basicConstraints, 3 a v1 self-signed
// root, 4 keyUsage with keyCertSign and no basicConstraints, 5 a Netscape CA.
int check_ca(const Facts& f) {
  if (ku_reject(f, KU_KEY_CERT_SIGN)) return 0;
  if (f.bcons) return f.ca ? 1 : 0;
  if (f.v1 && f.self_signed) return 3;
  if (f.kusage) return 4;
  if (f.nscert && (f.nscert_bits & NS_ANY_CA) != 0) return 5;
  return 0;
}

// 1.1.1 X509_check_issued: names, authority key id, and the issuer's
// keyUsage (no validity flags: 1.1.1 consults none here).
bool issued_by(X509* issuer, X509* subject) {
  if (X509_NAME_cmp(X509_get_subject_name(issuer), X509_get_issuer_name(subject)) != 0) return false;
  auto* akid = static_cast<AUTHORITY_KEYID*>(X509_get_ext_d2i(subject, NID_authority_key_identifier, nullptr, nullptr));
  bool ok = akid == nullptr || X509_check_akid(issuer, akid) == X509_V_OK;
  AUTHORITY_KEYID_free(akid);
  ERR_clear_error();
  if (!ok) return false;
  Facts fi = facts_of(issuer);
  return facts_of(subject).proxy ? !ku_reject(fi, KU_DIGITAL_SIGNATURE) : !ku_reject(fi, KU_KEY_CERT_SIGN);
}

bool in_chain(const std::vector<X509*>& chain, X509* cert) {
  return std::any_of(chain.begin(), chain.end(), [&](X509* c) { return c == cert || X509_cmp(c, cert) == 0; });
}

// The ctx check_issued of 1.1.1 (x509_vfy.c): a loop back into the chain
// does not count, except a lone self-signed certificate issuing itself.
bool issues_next(X509* issuer, X509* x, const std::vector<X509*>& chain, const Facts& fx) {
  if (!issued_by(issuer, x)) return false;
  if (fx.self_signed && chain.size() == 1) return true;
  return !in_chain(chain, issuer);
}

struct Chain {
  std::vector<X509*> certs;  // leaf first
  bool trusted = false;
};

// build_chain with one trusted certificate and X509_V_FLAG_PARTIAL_CHAIN:
// the trust store is asked first at each step, then the signature's own
// certificates; a leaf that is the db certificate itself is trusted as it
// is (check_trust's last resort), after at most one issuer was added.
Chain build_chain(X509* leaf, STACK_OF(X509) * untrusted, X509* anchor) {
  Chain chain{{leaf}, false};
  while (chain.certs.size() <= k_max_chain) {
    X509* cur = chain.certs.back();
    Facts fc = facts_of(cur);
    if (issues_next(anchor, cur, chain.certs, fc)) {
      // A self-signed leaf is replaced by its trusted match, which must be the same certificate.
      if (fc.self_signed && chain.certs.size() == 1) {
        chain.trusted = X509_cmp(cur, anchor) == 0;
        return chain;
      }
      chain.certs.push_back(anchor);
      chain.trusted = true;
      return chain;
    }
    if (fc.self_signed) break;
    X509* next = nullptr;
    for (int i = 0; i < sk_X509_num(untrusted) && next == nullptr; ++i) {
      X509* c = sk_X509_value(untrusted, i);
      if (issues_next(c, cur, chain.certs, fc)) next = c;
    }
    if (next == nullptr) break;
    chain.certs.push_back(next);
    if (X509_cmp(leaf, anchor) == 0) {
      chain.trusted = true;
      return chain;
    }
  }
  chain.trusted = X509_cmp(leaf, anchor) == 0;
  return chain;
}

std::optional<std::string> key_problem(X509* cert, const std::string& role) {
  EVP_PKEY* key = X509_get0_pubkey(cert);
  ERR_clear_error();
  if (key == nullptr) return role + " '" + name_of(cert) + "' has a public key the firmware cannot decode";
  if (!edk2_has_key_type(EVP_PKEY_get_base_id(key)))
    return role + " '" + name_of(cert) + "' has " + (key_type_name(key) == "EC" ? "an " : "a ") + key_type_name(key) +
           " key: the firmware's OpenSSL has RSA only (OPENSSL_NO_EC, OPENSSL_NO_DSA)";
  return std::nullopt;
}

// internal_verify: each certificate's signature under its issuer's key;
// the top one (the trust anchor or a self-signed root) is not checked.
std::optional<std::string> signature_problem(X509* cert, X509* issuer) {
  int md = NID_undef, pk = NID_undef;
  if (OBJ_find_sigid_algs(X509_get_signature_nid(cert), &md, &pk) == 0)
    return "'" + name_of(cert) + "' is signed with an algorithm the firmware does not know";
  if (md != NID_undef && !edk2_has_digest(md))
    return "'" + name_of(cert) + "' is signed with " + nid_name(md) + ", a digest the firmware's OpenSSL lacks";
  if (auto p = key_problem(issuer, "its issuer")) return "'" + name_of(cert) + "': " + *p;
  bool ok = X509_verify(cert, X509_get0_pubkey(issuer)) == 1;
  ERR_clear_error();
  if (!ok) return "the signature on '" + name_of(cert) + "' does not verify under its issuer's key";
  return std::nullopt;
}

// check_chain_extensions (not strict, any purpose, no proxy certificates),
// then internal_verify and check_name_constraints, on a trusted chain.
std::optional<std::string> check_chain(const Chain& chain) {
  const auto& c = chain.certs;
  const size_t n = c.size();
  long plen = 0;
  for (size_t i = 0; i < n; ++i) {
    Facts f = facts_of(c[i]);
    std::string who = "'" + name_of(c[i]) + "'";
    if (!f.unsupported_critical.empty())
      return who + " has a critical extension the firmware does not support (" + f.unsupported_critical +
             "; its OpenSSL 1.1.1 is built with OPENSSL_NO_RFC3779)";
    if (f.proxy) return who + " is a proxy certificate (not allowed)";
    if (i > 0) {
      int ca = check_ca(f);
      // X509_V_FLAG_X509_STRICT is implicit for intermediate CAs (1.1.1 check_chain_extensions).
      if (ca == 0 || (i + 1 < n && ca != 1)) return who + " issues a certificate of the chain but is not a CA";
    }
    if (i > 1 && f.pathlen != -1 && plen > f.pathlen) return who + ": the path length constraint is exceeded";
    if (i > 0 && !f.self_issued) ++plen;
  }
  for (size_t i = 0; i + 1 < n; ++i)
    if (auto p = signature_problem(c[i], c[i + 1])) return p;
  for (size_t i = n; i-- > 0;) {
    if (i > 0 && facts_of(c[i]).self_issued) continue;
    for (size_t j = n - 1; j > i; --j) {
      auto* nc = static_cast<NAME_CONSTRAINTS*>(X509_get_ext_d2i(c[j], NID_name_constraints, nullptr, nullptr));
      if (nc == nullptr) continue;
      int rv = NAME_CONSTRAINTS_check(c[i], nc);
      if (rv == X509_V_OK && i == 0) {
        auto* san = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(c[i], NID_subject_alt_name, nullptr, nullptr));
        bool has_dns = false;
        for (int k = 0; k < sk_GENERAL_NAME_num(san); ++k) has_dns = has_dns || sk_GENERAL_NAME_value(san, k)->type == GEN_DNS;
        GENERAL_NAMES_free(san);
        if (!has_dns) rv = NAME_CONSTRAINTS_check_CN(c[i], nc);
      }
      NAME_CONSTRAINTS_free(nc);
      ERR_clear_error();
      if (rv != X509_V_OK) return "'" + name_of(c[i]) + "' violates the name constraints of '" + name_of(c[j]) + "'";
    }
  }
  return std::nullopt;
}

}  // namespace

bool edk2_has_digest(int nid) {
  // 1.1.1 crypto/evp/c_alld.c openssl_add_all_digests_int under CryptoPkg's
  // opensslconf.h (OPENSSL_NO_MD4, _MDC2, _RMD160, _WHIRLPOOL, _BLAKE2).
  switch (nid) {
  case NID_md5:
  case NID_md5_sha1:
  case NID_sha1:
  case NID_sha224:
  case NID_sha256:
  case NID_sha384:
  case NID_sha512:
  case NID_sha512_224:
  case NID_sha512_256:
  case NID_sm3:
  case NID_sha3_224:
  case NID_sha3_256:
  case NID_sha3_384:
  case NID_sha3_512:
  case NID_shake128:
  case NID_shake256: return true;
  default: return false;
  }
}

bool edk2_has_key_type(int pkey_id) { return pkey_id == EVP_PKEY_RSA || pkey_id == EVP_PKEY_RSA_PSS; }

std::string key_type_name(const EVP_PKEY* key) {
  if (key == nullptr) return "unknown";
  switch (EVP_PKEY_get_base_id(key)) {
  case EVP_PKEY_RSA: return "RSA";
  case EVP_PKEY_RSA_PSS: return "RSA-PSS";
  case EVP_PKEY_EC: return "EC";
  case EVP_PKEY_DSA: return "DSA";
  case EVP_PKEY_ED25519: return "Ed25519";
  case EVP_PKEY_ED448: return "Ed448";
  case EVP_PKEY_SM2: return "SM2";
  }
  return "other";
}

Edk2Pkcs7Result edk2_pkcs7_verify(PKCS7* p7, std::string_view content, X509* anchor) {
  Edk2Pkcs7Result r;
  auto refused = [&](std::string why) {
    ERR_clear_error();
    r.problem = std::move(why);
    return r;
  };
  if (p7 == nullptr || !PKCS7_type_is_signed(p7) || p7->d.sign == nullptr) return refused("not PKCS#7 SignedData");
  STACK_OF(PKCS7_SIGNER_INFO)* infos = PKCS7_get_signer_info(p7);
  if (infos == nullptr || sk_PKCS7_SIGNER_INFO_num(infos) == 0) return refused("the PKCS#7 has no SignerInfo");
  STACK_OF(X509)* certs = p7->d.sign->cert;
  // PKCS7_verify: every SignerInfo's signer among the signature's own certificates,
  // each with algorithms the firmware has.
  std::vector<X509*> signers;
  for (int i = 0; i < sk_PKCS7_SIGNER_INFO_num(infos); ++i) {
    PKCS7_SIGNER_INFO* si = sk_PKCS7_SIGNER_INFO_value(infos, i);
    std::string which = "SignerInfo " + std::to_string(i + 1);
    X509* signer = si->issuer_and_serial == nullptr
                       ? nullptr
                       : X509_find_by_issuer_and_serial(certs, si->issuer_and_serial->issuer, si->issuer_and_serial->serial);
    if (signer == nullptr)
      return refused(which + ": the signer's certificate is not in the signature (the firmware looks for it nowhere else)");
    int md = OBJ_obj2nid(si->digest_alg->algorithm);
    if (!edk2_has_digest(md)) return refused(which + " digests with " + nid_name(md) + ", which the firmware's OpenSSL lacks");
    if (auto p = key_problem(signer, which + "'s signer")) return refused(*p);
    signers.push_back(signer);
  }
  // Every SignerInfo's signature (OpenSSL 3 does the arithmetic; the chains are checked below).
  ossl::Ptr<X509_STORE> store(X509_STORE_new());
  auto bio = ossl::memory_bio(content);
  if (PKCS7_verify(p7, nullptr, store.get(), bio.get(), nullptr, PKCS7_BINARY | PKCS7_NOVERIFY) != 1)
    return refused("a SignerInfo's signature does not verify");
  std::vector<Chain> chains;
  for (size_t i = 0; i < signers.size(); ++i) {
    chains.push_back(build_chain(signers[i], certs, anchor));
    if (!chains.back().trusted)
      return refused((signers.size() > 1 ? "SignerInfo " + std::to_string(i + 1) + ": " : std::string()) + "signed by '" +
                     name_of(signers[i]) +
                     "', which is not the db certificate nor issued by it through the signature's certificates");
  }
  r.reached = true;
  for (size_t i = 0; i < signers.size(); ++i) {
    const Chain& chain = chains[i];
    std::string which = signers.size() > 1 ? "SignerInfo " + std::to_string(i + 1) + ": " : "";
    if (auto p = check_chain(chain)) return refused(which + *p);
  }
  ERR_clear_error();
  r.verified = true;
  return r;
}

}  // namespace sbpipe

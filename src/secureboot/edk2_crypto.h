#pragma once
// EDK2's verification profile, stated once: what the firmware's crypto can
// and cannot do when it verifies an Authenticode PKCS#7 against one db
// certificate, and the decision it reaches. OVMF 2022.11 (edk2-stable202211)
// runs Pkcs7Verify (CryptoPkg/Library/BaseCryptLib/Pk/
// CryptPkcs7VerifyCommon.c:776-928) on OpenSSL 1.1.1n (the submodule at
// that tag) built as CryptoPkg/Library/OpensslLib/OpensslLibCrypto.inf:22
// and CryptoPkg/Library/Include/openssl/opensslconf.h configure it. sbpipe
// links OpenSSL 3, whose defaults differ, so the profile is applied
// explicitly and OpenSSL 3 only does arithmetic (a signature verifies under
// a key, a digest):
//   - algorithms: keys are RSA only (OPENSSL_NO_EC, _ECDSA, _SM2 in
//     OpensslLibCrypto.inf:22; OPENSSL_NO_DSA in opensslconf.h:55); digests
//     are those 1.1.1's EVP_get_digestbyname loads (crypto/evp/c_alld.c):
//     MD5, SHA-1, SHA-2, SHA-3, SM3, not RIPEMD-160, BLAKE2, MD4, MDC2 or
//     Whirlpool (opensslconf.h:34-95);
//   - every SignerInfo must verify, each signer's certificate must be among
//     the signature's own certificates, and each signer must chain to the
//     one db certificate of this call (1.1.1 crypto/pkcs7/pk7_smime.c
//     PKCS7_verify);
//   - the chain is built and checked as 1.1.1's crypto/x509/x509_vfy.c does
//     with the flags Pkcs7Verify sets (X509_V_FLAG_PARTIAL_CHAIN,
//     X509_V_FLAG_NO_CHECK_TIME, X509_PURPOSE_ANY, not strict): trusted
//     issuer first, then the signature's certificates (build_chain); an
//     issuer matches by name, authority key id and a keyUsage that allows
//     keyCertSign (X509_check_issued); each certificate's critical
//     extensions must be among 1.1.1's supported list, which has no RFC 3779
//     extensions under OPENSSL_NO_RFC3779 (opensslconf.h:190,
//     crypto/x509v3/v3_purp.c X509_supported_extension); an intermediate must
//     be a CA by basicConstraints, the top by basicConstraints, keyUsage or
//     as a v1 self-signed root (check_chain_extensions, check_ca); path
//     lengths as basicConstraints give them, a pathLenConstraint on a
//     non-CA read as 0 (x509v3_cache_extensions); name constraints
//     (check_name_constraints); what 1.1.1 marks invalid but tolerates
//     without X509_V_FLAG_X509_STRICT (an empty keyUsage, a pathLen on a
//     non-CA) does not fail; RFC 3779 resources are never validated;
//   - validity dates, purposes and revocation are not looked at.
// docs/boot.md lists each rule with the corpus case that holds it against
// the firmware.

#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include <string>
#include <string_view>
#include <vector>

namespace sbpipe {

struct Edk2Pkcs7Result {
  bool verified = false;
  std::string problem;   // why the firmware's Pkcs7Verify fails, when !verified
  bool reached = false;  // every signer chained to the anchor (a failure was another check's)
};

// Pkcs7Verify(p7, anchor, content) as the firmware computes it. `p7` is
// SignedData (its own certificates are the only untrusted ones), `content`
// the bytes signed (SpcIndirectDataContent's value), `anchor` one db
// certificate. Never throws; clears OpenSSL's error queue.
Edk2Pkcs7Result edk2_pkcs7_verify(PKCS7* p7, std::string_view content, X509* anchor);

// True when the firmware's OpenSSL can compute the digest `nid`.
bool edk2_has_digest(int nid);

// True when the firmware's OpenSSL can use a public key of this type
// (EVP_PKEY_get_base_id).
bool edk2_has_key_type(int pkey_id);

// "RSA", "EC", "DSA", ... for reports.
std::string key_type_name(const EVP_PKEY* key);

}  // namespace sbpipe

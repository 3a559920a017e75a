#pragma once
// X.509 certificates as keyless signing uses them: a Fulcio leaf (its
// subject alternative names, the OIDC issuer Fulcio records, its validity
// and key) and its path to a CA of the trusted root, checked at a given time
// (the "hybrid model" of the Sigstore client spec: every certificate valid
// when the signature was logged), with the code-signing extended key usage
// sigstore-go asks for (sigstore/sigstore-go pkg/root/certificate_authority.go,
// FulcioCertificateAuthority.Verify). The OpenSSL adapter for certificates.
//
// Immutable after parsing; safe to share between threads.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "sigstore/keys.h"

namespace sbpipe {

// Fulcio's OIDC issuer extensions (sigstore/fulcio docs/oid-info.md):
// 1.3.6.1.4.1.57264.1.8 holds a DER UTF8String; the deprecated
// 1.3.6.1.4.1.57264.1.1 the raw string.
inline constexpr const char* k_fulcio_issuer_oid = "1.3.6.1.4.1.57264.1.8";
inline constexpr const char* k_fulcio_issuer_v1_oid = "1.3.6.1.4.1.57264.1.1";

struct EmbeddedSct;

class Certificate {
public:
  // A DER certificate. invalid_input naming `label` when it does not parse.
  static Result<Certificate> parse_der(std::string_view der, std::string_view label);
  // The first CERTIFICATE block of PEM text (cosign's certificate annotation).
  static Result<Certificate> parse_pem(std::string_view pem, std::string_view label);

  const std::string& der() const;
  // Validity, in seconds since the Unix epoch.
  int64_t not_before() const;
  int64_t not_after() const;
  // The e-mail and URI subject alternative names, as written.
  std::vector<std::string> subject_alternative_names() const;
  // The OIDC issuer from 1.3.6.1.4.1.57264.1.8, else from .1.1; empty when neither.
  std::string oidc_issuer() const;
  // The subject's key. invalid_input when it is not EC P-256 or RSA >= 2048.
  Result<PublicKey> public_key() const;
  // The subject as OpenSSL prints it in one line, for messages.
  std::string subject_text() const;

  struct Impl;
  friend Result<Certificate> verify_code_signing_path(const Certificate& leaf, const std::vector<Certificate>& ca_chain,
                                                      int64_t at);
  friend Result<std::vector<EmbeddedSct>> embedded_scts(const Certificate& leaf, const Certificate& issuer);
  explicit Certificate(std::shared_ptr<const Impl> impl) : m_impl(std::move(impl)) {}

private:
  std::shared_ptr<const Impl> m_impl;
};

// Whether `leaf` has a path to the last certificate of `ca_chain` (a
// self-signed root; the others are the CA's intermediates) at time `at`
// (every certificate of the path valid then), and is for code signing: the
// leaf must carry the code-signing extended key usage, and every CA
// certificate with an extended key usage must allow it (Go's x509.Verify
// with KeyUsages = [CodeSigning]; a leaf without the extension, which Go
// accepts, is refused). The leaf's issuer on the path; invalid_input
// saying why not.
Result<Certificate> verify_code_signing_path(const Certificate& leaf, const std::vector<Certificate>& ca_chain, int64_t at);

// A signed certificate timestamp embedded in a leaf (RFC 6962 section 3.3,
// the precertificate SCT list extension 1.3.6.1.4.1.11129.2.4.2), with the
// bytes its CT log signed (section 3.2: a precert_entry over the leaf's
// TBSCertificate without that extension and the SHA-256 of the issuer's
// key), as certificate-transparency-go's ctutil.VerifySCT rebuilds them.
struct EmbeddedSct {
  std::string log_id;  // raw, the SHA-256 of the log's key
  int64_t timestamp_ms = 0;
  std::string signed_data;
  std::string signature;  // raw DER ECDSA (SHA-256)
};
// The leaf's SCTs (empty when it has none). invalid_input when the list
// does not parse or an SCT is not a v1 ECDSA-SHA256 one.
Result<std::vector<EmbeddedSct>> embedded_scts(const Certificate& leaf, const Certificate& issuer);

// "2026-01-02T03:04:05Z" for seconds since the Unix epoch.
std::string unix_time_text(int64_t seconds);

}  // namespace sbpipe

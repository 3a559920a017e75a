#pragma once
// Authenticode signatures of PE images, checked the way UEFI firmware
// checks an image against its `db`: the digest over the image's hashed
// ranges must equal the one in the signed SpcIndirectDataContent, the
// PKCS#7 signature over that content must verify, and the signer must be a
// trusted certificate or chain up to one (validity dates are not checked,
// as firmware has no trusted clock).

#include <string>
#include <vector>

#include "secureboot/pe.h"

namespace sbpipe {

struct SignatureCheck {
  std::string digest_algorithm;  // "sha256", ...
  std::string signer_subject;    // empty when no signer was found
  std::string signer_issuer;
  std::string signer_der;        // the signer's certificate, DER
  std::string problem;           // empty when this signature passes
  bool ok() const { return problem.empty(); }
};

struct AuthenticodeReport {
  std::string sha256;  // the image's Authenticode SHA-256, hex
  std::vector<SignatureCheck> signatures;
  // True when at least one signature passes (firmware accepts any one).
  bool ok() const;
  // Why the image fails: "unsigned", or the problem of each signature.
  std::string problem() const;
};

// Checks every signature of `image` against `trusted` (DER certificates).
// Failures of the image itself (unsigned, tampered, other key) are in the
// report; the Result fails only when the file cannot be read.
Result<AuthenticodeReport> check_authenticode(const RandomAccess& file, const PeImage& image,
                                              const std::vector<std::string>& trusted);

// Parses Authenticode's SpcIndirectDataContent (DER). Returns the digest
// algorithm's OID (DER, with tag) and the digest. invalid_input when it is
// not a PE image data object or is malformed.
struct IndirectData {
  std::string_view digest_oid;
  std::string_view digest;
};
Result<IndirectData> parse_indirect_data(std::string_view der);

} // namespace sbpipe

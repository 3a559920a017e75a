#pragma once
// Authenticode signatures of PE images, judged as UEFI firmware judges them
// against its db: the decision of EDK2's DxeImageVerificationHandler
// (SecurityPkg/Library/DxeImageVerificationLib, edk2-stable202211, what
// Debian 12's OVMF is built from), with db = the trusted certificates and
// no dbx. For each PKCS#7 entry of the certificate table (cert_table.h):
//   - the digest algorithm is the one at byte 32 of the PKCS#7 (the first
//     of SignedData.digestAlgorithms, in the two-byte-length layout EDK2
//     assumes: HashPeImageByType): SHA-1, SHA-256, SHA-384 or SHA-512;
//   - the image is hashed with it (pe.h authenticode_ranges: HashPeImage),
//     and the digest must be the last bytes of SpcIndirectDataContent
//     (CryptoPkg AuthenticodeVerify);
//   - the PKCS#7 must verify with one db certificate at a time as the only
//     trust anchor, the signer and any intermediates taken from the
//     signature itself, validity dates and key usage ignored
//     (CryptPkcs7VerifyCommon.c Pkcs7Verify: PARTIAL_CHAIN, NO_CHECK_TIME,
//     X509_PURPOSE_ANY);
//   - no EC key may take part: OVMF's OpenSSL is built with OPENSSL_NO_EC
//     (CryptoPkg/Library/OpensslLib/OpensslLibCrypto.inf).
// The image passes when one entry passes and the table walk ended at the
// table's end. docs/boot.md lists each rule with the corpus case that
// proves it against the firmware.

#include <string>
#include <string_view>
#include <vector>

#include "secureboot/cert_table.h"
#include "secureboot/pe.h"

namespace sbpipe {

struct SignatureCheck {
  std::string digest_algorithm;  // what the firmware hashes the image with: "sha256", ...; empty when none
  std::string signer_subject;    // the signature's signer, from its own certificates; empty when absent
  std::string signer_issuer;
  std::string signer_der;       // the signer's certificate, DER
  std::string signer_key_type;  // "RSA", "EC", ...
  std::string problem;          // empty when the firmware accepts this signature
  bool ok() const { return problem.empty(); }
};

struct AuthenticodeReport {
  std::string sha256;                      // the image's Authenticode SHA-256, hex; empty when the firmware cannot hash it
  std::vector<SignatureCheck> signatures;  // one per entry of the certificate table, skipped ones too
  std::string table_problem;               // the table walk stopped before the table's end
  // True when the firmware starts the image: one signature passes and the
  // table is whole.
  bool ok() const;
  // The first passing signature, or nullptr.
  const SignatureCheck* accepted() const;
  // Why the image fails: "unsigned", the table's problem, or each signature's.
  std::string problem() const;
};

// Checks every signature of `image` against `trusted` (DER certificates:
// the db). Failures of the image itself (unsigned, tampered, other key) are
// in the report; the Result fails only when the file cannot be read or a
// trusted certificate does not parse.
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

}  // namespace sbpipe

#pragma once
// Authenticode signatures of PE images, judged as UEFI firmware judges them
// against its db and dbx (signature_db.h): the decision of EDK2's
// DxeImageVerificationHandler (SecurityPkg/Library/DxeImageVerificationLib/
// DxeImageVerificationLib.c:1658-2047, edk2-stable202211, what Debian 12's
// OVMF is built from).
//   - An unsigned image (no Certificate Table, or Size 0) runs when its
//     SHA-256 Authenticode digest is in db and not in dbx.
//   - A signed one is walked entry by entry (cert_table.h). For each PKCS#7
//     entry: the digest algorithm is the one at byte 32 of the PKCS#7
//     (HashPeImageByType: SHA-1/256/384/512; an entry without one is
//     skipped); the image is hashed with it (pe.h authenticode_ranges); a
//     dbx certificate that verifies the signature, or a signer certificate
//     whose TBS digest is in dbx, forbids the image (IsForbiddenByDbx); the
//     first db certificate that verifies it allows it unless its own digest
//     is in dbx (IsAllowedByDb); then the image digest of that algorithm in
//     dbx forbids the image, and in db allows it. "Verifies" is
//     AuthenticodeVerify (CryptAuthenticode.c: the digest must be the last
//     bytes of SpcIndirectDataContent) and Pkcs7Verify under EDK2's crypto
//     profile (edk2_crypto.h).
//   - The image passes when one entry allowed it, none forbade it and the
//     walk ended at the table's end.
// docs/boot.md lists each rule with the corpus case that proves it against
// the firmware.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "secureboot/cert_table.h"
#include "secureboot/pe.h"
#include "secureboot/signature_db.h"

namespace sbpipe {

struct SignatureCheck {
  std::string digest_algorithm;  // what the firmware hashes the image with: "sha256", ...; empty when none
  std::string signer_subject;    // the signature's signer, from its own certificates; empty when absent
  std::string signer_issuer;
  std::string signer_der;       // the signer's certificate, DER
  std::string signer_key_type;  // "RSA", "EC", ...
  std::string problem;          // empty when the firmware accepts this signature
  std::string accepted_by;      // what in db allowed it: "db certificate '...'" or "db sha256 image digest"
  std::string anchor_der;       // the db certificate that allowed it, DER (empty when a digest did)
  std::string anchor_digest;    // the db image digest that allowed it, raw (empty when a certificate did)
  bool ok() const { return problem.empty(); }
};

struct AuthenticodeReport {
  std::string sha256;                      // the image's Authenticode SHA-256, hex; empty when the firmware cannot hash it
  std::vector<SignatureCheck> signatures;  // one per entry of the certificate table walked, skipped ones too
  std::string table_problem;               // the table walk stopped before the table's end
  std::string forbidden;                   // dbx refused a signature or the image's digest: the walk stopped there
  std::string unsigned_problem;            // an unsigned image the firmware refuses, and why
  std::string accepted_by_digest;          // an unsigned image db allows by its SHA-256, and how
  // True when the firmware starts the image: an unsigned image whose
  // SHA-256 is in db and not in dbx; a signed one with an accepted entry,
  // nothing forbidden and the table whole.
  bool ok() const;
  // The first passing signature, or nullptr (also for an unsigned image allowed by digest).
  const SignatureCheck* accepted() const;
  // Why the image fails: unsigned, forbidden, the table's problem, or each signature's.
  std::string problem() const;
};

// Checks `image` as DxeImageVerificationHandler does, with `db` the
// security database and `dbx` the forbidden one (nullptr: none, as on a
// node without dbx). Failures of the image itself (unsigned, tampered, other
// key, forbidden) are in the report; the Result fails only when the file
// cannot be read or a database certificate does not parse.
// `precomputed`: Authenticode digests already made (by algorithm name,
// raw bytes: digest_pass.h); what it lacks is computed here.
using AuthenticodeDigests = std::map<std::string, std::string>;
Result<AuthenticodeReport> check_authenticode(const RandomAccess& file, const PeImage& image, const SignatureDatabase& db,
                                              const SignatureDatabase* dbx = nullptr,
                                              const AuthenticodeDigests* precomputed = nullptr);

// The digest algorithms check_authenticode hashes `image` with: SHA-256,
// then each one a PKCS#7 entry names where EDK2 reads it. io when the file
// cannot be read.
Result<std::vector<std::string>> authenticode_algorithms(const RandomAccess& file, const PeImage& image);

// Parses Authenticode's SpcIndirectDataContent (DER). Returns the digest
// algorithm's OID (DER, with tag) and the digest. invalid_input when it is
// not a PE image data object or is malformed.
struct IndirectData {
  std::string_view digest_oid;
  std::string_view digest;
};
Result<IndirectData> parse_indirect_data(std::string_view der);

}  // namespace sbpipe

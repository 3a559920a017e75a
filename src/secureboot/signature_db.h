#pragma once
// The firmware's image security databases as sbpipe takes them: db (what
// may run) and dbx (what may not), each a set of EFI_SIGNATURE_LISTs the way
// a node holds them (UEFI 2.10, 32.4.1 "Signature Database"). EDK2
// (SecurityPkg/Library/DxeImageVerificationLib/DxeImageVerificationLib.c,
// edk2-stable202211) uses these entry types when it checks an image:
//   - EFI_CERT_X509_GUID: a certificate that may anchor a signature
//     (IsAllowedByDb; in dbx, one that forbids it: IsForbiddenByDbx);
//   - EFI_CERT_SHA1/SHA256/SHA384/SHA512_GUID: the Authenticode digest of an
//     image (IsSignatureFoundInDatabase), SHA-256 for an unsigned image, the
//     signature's own digest algorithm for a signed one;
//   - EFI_CERT_X509_SHA256/384/512_GUID (dbx): the digest of a
//     certificate's TBSCertificate, with a revocation time
//     (IsCertHashFoundInDbx).
// Other entry types are kept out: the firmware does not look at them when
// it verifies an image.

#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace sbpipe {

struct ImageDigestEntry {
  std::string algorithm;  // "sha1", "sha256", "sha384", "sha512"
  std::string digest;     // raw bytes
};

struct CertDigestEntry {
  std::string algorithm;       // "sha256", "sha384", "sha512": of the TBSCertificate
  std::string digest;          // raw bytes
  bool revoked_always = true;  // the EFI_TIME after the digest is all zero (IsTimeZero)
};

struct SignatureDatabase {
  std::vector<std::string> certificates;  // DER, in the database's order
  std::vector<ImageDigestEntry> image_digests;
  std::vector<CertDigestEntry> cert_digests;
  bool empty() const { return certificates.empty() && image_digests.empty() && cert_digests.empty(); }
  // "2 certificates, 1 SHA-256 image digest" (for reports).
  std::string summary() const;
  // True when an entry of `algorithm` holds `digest` (IsSignatureFoundInDatabase).
  bool has_image_digest(std::string_view algorithm, std::string_view digest) const;
};

// A database from the bytes of a file: an authenticated variable (`db.auth`
// as efitools and Talos write it), a bare signature list (`.esl`), or PEM
// certificates (`--cert`: a db of those certificates). invalid_input naming
// `label` when it is none of these or malformed.
Result<SignatureDatabase> parse_signature_database(std::string_view bytes, std::string_view label);

}  // namespace sbpipe

#pragma once
// UEFI authenticated variables as `efitools` writes them for enrolment
// (PK.auth, KEK.auth, db.auth): an EFI_VARIABLE_AUTHENTICATION_2 header
// followed by EFI_SIGNATURE_LISTs (UEFI spec, "Variable Services" and
// "Signature Database"). Parsing only; every size field is checked against
// the bytes that remain.

#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace sbpipe {

enum class SignatureKind { x509, sha256, other };

struct EfiSignatureList {
  std::string type_guid;  // "a5c059a1-94e4-4aa7-87b5-ab155c2bf072"
  SignatureKind kind = SignatureKind::other;
  struct Entry {
    std::string owner_guid;
    std::string data;  // a DER certificate for x509 lists, 32 bytes for sha256
  };
  std::vector<Entry> entries;
};

// Parses a sequence of EFI_SIGNATURE_LISTs filling `data` exactly (an .esl
// file). invalid_input naming the list and field that is out of bounds.
Result<std::vector<EfiSignatureList>> parse_signature_lists(std::string_view data);

struct AuthenticatedVariable {
  std::string timestamp;  // "2026-11-22 10:00:00"
  std::string cert_type;  // GUID of AuthInfo.CertType (PKCS#7 for a valid file)
  std::string signature;  // AuthInfo.CertData: the PKCS#7 signature
  std::vector<EfiSignatureList> lists;
};

// Parses an .auth file: EFI_TIME, WIN_CERTIFICATE_UEFI_GUID, then the
// signature lists. invalid_input when malformed.
Result<AuthenticatedVariable> parse_auth_variable(std::string_view data);

// The registry form of a 16-byte EFI_GUID (mixed-endian, as UEFI stores it).
std::string guid_text(std::string_view bytes);

inline constexpr std::string_view k_efi_cert_x509_guid = "a5c059a1-94e4-4aa7-87b5-ab155c2bf072";
inline constexpr std::string_view k_efi_cert_sha256_guid = "c1c41626-504c-4092-aca9-41f936934328";
inline constexpr std::string_view k_efi_cert_pkcs7_guid = "4aafd29d-68df-49ee-8aa9-347d375665a7";

}  // namespace sbpipe

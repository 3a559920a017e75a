#include "secureboot/signature_db.h"

#include <algorithm>

#include "secureboot/siglist.h"
#include "secureboot/x509.h"

namespace sbpipe {
namespace {

// EFI_CERT_*_GUID values (MdePkg/Include/Guid/ImageAuthentication.h) and
// the digest each names.
struct DigestType {
  std::string_view guid;
  const char* algorithm;
  size_t size;
};
constexpr DigestType k_image_digest_types[] = {
    {"826ca512-cf10-4ac9-b187-be01496631bd", "sha1", 20},
    {k_efi_cert_sha256_guid, "sha256", 32},
    {"ff3e5307-9fd0-48c9-85f1-8ad56c701e01", "sha384", 48},
    {"093e0fae-a6c4-4f50-9f1b-d41b2b89c19a", "sha512", 64},
};
constexpr DigestType k_cert_digest_types[] = {
    {"3bd2a492-96c0-4079-b420-fcf98ef103ed", "sha256", 32},
    {"7076876e-80c2-4ee6-aad2-28b349a6865b", "sha384", 48},
    {"446dbf63-2502-4cda-bcfa-2465d2b0fe9d", "sha512", 64},
};
constexpr size_t k_efi_time_size = 16;

Result<SignatureDatabase> from_lists(const std::vector<EfiSignatureList>& lists, std::string_view label) {
  SignatureDatabase db;
  for (const auto& list : lists) {
    if (list.kind == SignatureKind::x509) {
      for (const auto& e : list.entries) db.certificates.push_back(e.data);
      continue;
    }
    // IsSignatureFoundInDatabase takes a list only when its SignatureSize is
    // the GUID plus the digest; AuthVariableLib refuses other sizes on write.
    for (const auto& t : k_image_digest_types) {
      if (list.type_guid != t.guid) continue;
      for (const auto& e : list.entries) {
        if (e.data.size() != t.size)
          return fail(ErrorKind::invalid_input,
                      std::string(label) + ": a " + t.algorithm + " entry of " + std::to_string(e.data.size()) + " bytes");
        db.image_digests.push_back({t.algorithm, e.data});
      }
    }
    for (const auto& t : k_cert_digest_types) {
      if (list.type_guid != t.guid) continue;
      for (const auto& e : list.entries) {
        if (e.data.size() != t.size + k_efi_time_size)
          return fail(ErrorKind::invalid_input,
                      std::string(label) + ": an X.509 " + t.algorithm + " entry of " + std::to_string(e.data.size()) + " bytes");
        std::string_view time = std::string_view(e.data).substr(t.size);
        bool zero = std::all_of(time.begin(), time.end(), [](char c) { return c == 0; });
        db.cert_digests.push_back({t.algorithm, e.data.substr(0, t.size), zero});
      }
    }
  }
  return db;
}

}  // namespace

std::string SignatureDatabase::summary() const {
  std::string out = std::to_string(certificates.size()) + " certificate" + (certificates.size() == 1 ? "" : "s");
  if (!image_digests.empty()) out += ", " + std::to_string(image_digests.size()) + " image digest(s)";
  if (!cert_digests.empty()) out += ", " + std::to_string(cert_digests.size()) + " certificate digest(s)";
  return out;
}

bool SignatureDatabase::has_image_digest(std::string_view algorithm, std::string_view digest) const {
  return std::any_of(image_digests.begin(), image_digests.end(),
                     [&](const ImageDigestEntry& e) { return e.algorithm == algorithm && e.digest == digest; });
}

Result<SignatureDatabase> parse_signature_database(std::string_view bytes, std::string_view label) {
  if (bytes.find("-----BEGIN") != std::string_view::npos) {
    auto certs = parse_pem_certificates(bytes, label);
    if (!certs) return fail(certs.error());
    SignatureDatabase db;
    for (const auto& c : *certs) db.certificates.push_back(c.der);
    return db;
  }
  // An authenticated variable starts with EFI_TIME and a WIN_CERTIFICATE_UEFI_GUID;
  // anything else is taken as a bare list.
  auto var = parse_auth_variable(bytes);
  if (var) return from_lists(var->lists, label);
  auto lists = parse_signature_lists(bytes);
  if (!lists)
    return fail(ErrorKind::invalid_input, std::string(label) +
                                              ": neither PEM certificates, an authenticated variable (.auth) nor a "
                                              "signature list (.esl): " +
                                              lists.error().message());
  if (lists->empty()) return fail(ErrorKind::invalid_input, std::string(label) + ": an empty signature database");
  return from_lists(*lists, label);
}

}  // namespace sbpipe

#include "secureboot/keys.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <algorithm>

#include "core/file.h"
#include "core/openssl_util.h"
#include "secureboot/siglist.h"
#include "secureboot/x509.h"

namespace sbpipe {
namespace {

namespace fs = std::filesystem;

constexpr const char* k_uki_key = "uki-signing-key.pem";
constexpr const char* k_uki_cert = "uki-signing-cert.pem";
constexpr const char* k_pcr_key = "pcr-signing-key.pem";
constexpr const char* k_pcr_public = "pcr-signing-key.pub.pem";
constexpr int k_min_bits = 2048;
constexpr int k_recommended_uki_bits = 4096;
// A node loads the PCR key into its TPM (TPM2_LoadExternal) at every unseal
// (siderolabs/talos internal/pkg/secureboot/tpm2/unseal.go); many TPMs take
// only RSA-2048 there, and `talosctl gen secureboot pcr` makes 2048.
constexpr int k_pcr_bits = 2048;

// Never prompts: an encrypted key fails instead of waiting on a terminal.
int no_passphrase(char*, int, int, void*) { return -1; }

class Checks {
public:
  void add(std::string item, std::string check, CheckLevel level, std::string detail) {
    m_rows.push_back({std::move(item), std::move(check), level, std::move(detail)});
  }
  std::vector<KeyCheck> take() { return std::move(m_rows); }

private:
  std::vector<KeyCheck> m_rows;
};

// Checks a private key file: the PEM form imager accepts (PKCS#1 RSA), its
// size and its permissions. Returns the key when it parses.
// `exact_bits` (0: none) is the only size accepted.
ossl::Ptr<EVP_PKEY> check_private_key(const fs::path& path, int recommended_bits, Checks& checks, int exact_bits = 0) {
  std::string name = path.filename().string();
  auto text = read_small_file(path, 64 * 1024);
  if (!text) {
    checks.add(name, "present", CheckLevel::fail,
               text.error().kind() == ErrorKind::not_found ? std::string("missing") : "unreadable: " + text.error().message());
    return nullptr;
  }
  checks.add(name, "present", CheckLevel::ok, "found");
  const std::string& pem = *text;
  std::string convert = "convert with: openssl rsa -in " + name + " -traditional -out " + name;
  auto labels = pem_labels(pem);
  auto has = [&](std::string_view label) { return std::find(labels.begin(), labels.end(), label) != labels.end(); };
  if (has("ENCRYPTED PRIVATE KEY") || pem.find("Proc-Type: 4,ENCRYPTED") != std::string::npos) {
    checks.add(name, "format", CheckLevel::fail, "encrypted; imager needs an unencrypted PKCS#1 RSA key");
    return nullptr;
  }
  if (has("EC PRIVATE KEY")) {
    checks.add(name, "format", CheckLevel::fail,
               "ECDSA key; imager signs with RSA only (talosctl gen secureboot makes RSA keys)");
    return nullptr;
  }
  bool pkcs1 = has("RSA PRIVATE KEY");
  bool pkcs8 = has("PRIVATE KEY");
  if (!pkcs1 && !pkcs8) {
    checks.add(name, "format", CheckLevel::fail, "no PEM private key found");
    return nullptr;
  }
  auto bio = ossl::memory_bio(pem);
  ossl::Ptr<EVP_PKEY> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  if (!key) {
    checks.add(name, "format", CheckLevel::fail, "does not parse (" + ossl::take_error() + ")");
    return nullptr;
  }
  bool rsa = EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_RSA;
  if (!rsa) {
    checks.add(name, "format", CheckLevel::fail,
               std::string(OBJ_nid2sn(EVP_PKEY_get_base_id(key.get()))) + " key; imager signs with RSA only");
    return nullptr;
  }
  if (pkcs8)
    checks.add(name, "format", CheckLevel::fail,
               "PKCS#8 key (PEM label without RSA); imager accepts only PKCS#1 RSA; " + convert);
  else
    checks.add(name, "format", CheckLevel::ok, "PKCS#1 RSA");

  int bits = EVP_PKEY_get_bits(key.get());
  if (exact_bits != 0 && bits != exact_bits)
    checks.add(name, "size", CheckLevel::fail,
               std::to_string(bits) + " bits; a PCR key must be RSA-" + std::to_string(exact_bits) +
                   ": nodes load it into the TPM at every unseal, and many TPMs take only RSA-2048 there");
  else if (bits < k_min_bits)
    checks.add(name, "size", CheckLevel::fail, std::to_string(bits) + " bits; at least 2048 needed");
  else if (bits < recommended_bits)
    checks.add(name, "size", CheckLevel::warn,
               std::to_string(bits) + " bits; " + std::to_string(recommended_bits) + " recommended");
  else
    checks.add(name, "size", CheckLevel::ok, std::to_string(bits) + " bits");

  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 0077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    checks.add(name, "permissions", CheckLevel::warn,
               std::string("mode ") + mode + "; readable by others (0400 or 0600 expected)");
  }
  return key;
}

// Writes the public half of the PCR key, for verify steps that must not
// see the private one (the key nodes are sealed to; verify --pcr-pubkey).
void write_pcr_public(EVP_PKEY* key, const fs::path& dir, Checks& checks) {
  auto path = dir / k_pcr_public;
  if (key == nullptr) {
    checks.add(k_pcr_public, "written", CheckLevel::fail, "not written: " + std::string(k_pcr_key) + " did not parse");
    return;
  }
  ossl::Ptr<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), key);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  auto st = write_file_atomically(path, std::string(data, static_cast<size_t>(len)));
  checks.add(k_pcr_public, "written", st ? CheckLevel::ok : CheckLevel::fail, st ? path.string() : st.error().message());
}

// Parses the UKI certificate and checks its dates. Returns its DER when it parses.
std::optional<std::string> check_certificate(const fs::path& path, const KeysCheckOptions& options, Checks& checks) {
  std::string name = path.filename().string();
  auto text = read_small_file(path);
  if (!text) {
    checks.add(name, "present", CheckLevel::fail,
               text.error().kind() == ErrorKind::not_found ? std::string("missing") : "unreadable: " + text.error().message());
    return std::nullopt;
  }
  auto certs = parse_pem_certificates(*text, name);
  if (!certs) {
    checks.add(name, "format", CheckLevel::fail, certs.error().message());
    return std::nullopt;
  }
  const CertificateInfo& cert = certs->front();
  checks.add(name, "subject", CheckLevel::ok, cert.subject);
  if (cert.key_type != "RSA")
    checks.add(name, "key", CheckLevel::fail, cert.key_type + " key; UEFI db entries for imager's signatures must be RSA");
  else
    checks.add(name, "key", CheckLevel::ok, "RSA " + std::to_string(cert.key_bits) + " bits");

  auto days_left = std::chrono::duration_cast<std::chrono::hours>(cert.not_after - options.now).count() / 24;
  std::string range = format_date(cert.not_before) + " to " + format_date(cert.not_after);
  if (options.now < cert.not_before)
    checks.add(name, "validity", CheckLevel::fail, "not valid yet (" + range + ")");
  else if (options.now > cert.not_after)
    checks.add(name, "validity", CheckLevel::fail, "expired (" + range + ")");
  else if (days_left < options.warn_days)
    checks.add(name, "validity", CheckLevel::warn, "expires in " + std::to_string(days_left) + " days (" + range + ")");
  else
    checks.add(name, "validity", CheckLevel::ok, range);
  return cert.der;
}

// Parses PK.auth, KEK.auth and db.auth when present and checks that db
// holds the UKI certificate.
void check_enrolment(const fs::path& dir, const std::optional<std::string>& uki_cert_der, Checks& checks) {
  const char* names[] = {"PK.auth", "KEK.auth", "db.auth"};
  int present = 0;
  for (const char* n : names) present += fs::exists(dir / n) ? 1 : 0;
  if (present == 0) {
    checks.add("PK/KEK/db.auth", "present", CheckLevel::ok, "none (enrolment files are optional)");
    return;
  }
  // All three or none: imager 1.14 refuses a partial set (exit 2, "partial SecureBoot pre-built
  // database configuration": talos v1.14.0-rc.1 pkg/imager/out.go, prepareEnrollmentDBs), and
  // imager 1.13 and older copy only the files present into the ISO (v1.13.0 pkg/imager/iso/uefi.go),
  // which then enrols no KEK or no db; without PK.auth they ignore the others and generate all three.
  if (present < 3) {
    std::string missing;
    for (const char* n : names)
      if (!fs::exists(dir / n)) missing += (missing.empty() ? "" : ", ") + std::string(n);
    checks.add("PK/KEK/db.auth", "complete", CheckLevel::fail,
               "missing " + missing +
                   "; the enrolment files go together: add the missing ones (talosctl gen secureboot database) or "
                   "remove the others (imager then generates all three from uki-signing-cert.pem)");
  }
  for (const char* n : names) {
    if (!fs::exists(dir / n)) continue;
    auto data = read_small_file(dir / n, 1 << 20);
    if (!data) {
      checks.add(n, "present", CheckLevel::fail, data.error().message());
      continue;
    }
    auto var = parse_auth_variable(*data);
    if (!var) {
      checks.add(n, "format", CheckLevel::fail, var.error().message());
      continue;
    }
    size_t x509 = 0, hashes = 0;
    bool holds_uki_cert = false;
    for (const auto& list : var->lists)
      for (const auto& entry : list.entries) {
        if (list.kind == SignatureKind::x509) {
          ++x509;
          if (uki_cert_der && entry.data == *uki_cert_der) holds_uki_cert = true;
        } else if (list.kind == SignatureKind::sha256) {
          ++hashes;
        }
      }
    CheckLevel signed_level =
        var->cert_type == k_efi_cert_pkcs7_guid && !var->signature.empty() ? CheckLevel::ok : CheckLevel::fail;
    checks.add(n, "format", signed_level,
               std::to_string(x509) + " certificate(s), " + std::to_string(hashes) + " hash(es), signed " + var->timestamp);
    if (std::string_view(n) == "db.auth") {
      if (!uki_cert_der)
        checks.add(n, "holds UKI cert", CheckLevel::fail, "cannot tell: uki-signing-cert.pem did not parse");
      else if (holds_uki_cert)
        checks.add(n, "holds UKI cert", CheckLevel::ok, "yes");
      else
        checks.add(n, "holds UKI cert", CheckLevel::fail,
                   "no; nodes enrolled from these files will refuse images signed with uki-signing-key.pem");
    }
  }
}

}  // namespace

std::string_view level_name(CheckLevel level) {
  switch (level) {
  case CheckLevel::ok: return "ok";
  case CheckLevel::warn: return "warn";
  case CheckLevel::fail: return "FAIL";
  }
  return "FAIL";
}

std::vector<KeyCheck> check_key_set(const fs::path& dir, const KeysCheckOptions& options) {
  Checks checks;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    checks.add(dir.string(), "directory", CheckLevel::fail, "not a directory");
    return checks.take();
  }
  auto uki_key = check_private_key(dir / k_uki_key, k_recommended_uki_bits, checks);
  auto uki_cert = check_certificate(dir / k_uki_cert, options, checks);
  if (uki_key && uki_cert) {
    const auto* p = reinterpret_cast<const unsigned char*>(uki_cert->data());
    ossl::Ptr<X509> cert(d2i_X509(nullptr, &p, static_cast<long>(uki_cert->size())));
    bool matches = cert && X509_check_private_key(cert.get(), uki_key.get()) == 1;
    ERR_clear_error();
    checks.add(k_uki_key, "matches certificate", matches ? CheckLevel::ok : CheckLevel::fail,
               matches ? "yes" : "no; the key does not belong to uki-signing-cert.pem");
  }
  auto pcr_key = check_private_key(dir / k_pcr_key, k_min_bits, checks, k_pcr_bits);
  check_enrolment(dir, uki_cert, checks);
  if (!options.write_public.empty()) write_pcr_public(pcr_key.get(), options.write_public, checks);
  return checks.take();
}

}  // namespace sbpipe

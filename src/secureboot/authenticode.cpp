#include "secureboot/authenticode.h"

#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <map>
#include <optional>

#include "core/hex.h"
#include "core/openssl_util.h"
#include "core/stream.h"
#include "secureboot/der.h"
#include "secureboot/edk2_crypto.h"

namespace sbpipe {
namespace {

// 1.3.6.1.4.1.311.2.1.15, SPC_PE_IMAGE_DATAOBJ, as DER content octets.
constexpr std::string_view k_spc_pe_image_data{"\x2b\x06\x01\x04\x01\x82\x37\x02\x01\x0f", 10};
// 1.3.6.1.4.1.311.2.1.4, SPC_INDIRECT_DATA_OBJID (CryptAuthenticode.c mSpcIndirectOidValue).
constexpr std::string_view k_spc_indirect_data{"\x2b\x06\x01\x04\x01\x82\x37\x02\x01\x04", 10};
// 1.2.840.113549.1.7.2, signedData (CryptPkcs7VerifyCommon.c mOidValue).
constexpr std::string_view k_signed_data_oid{"\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02", 9};
// A PKCS#7 the firmware can use is under 64 KiB (HashPeImageByType reads a
// two-byte length); longer ones are not read.
constexpr size_t k_max_auth_data = 16 << 20;

std::string oneline(X509_NAME* name) {
  char buf[512];
  X509_NAME_oneline(name, buf, sizeof buf);
  return buf;
}

// The digests EDK2 can hash an image with, and their OID values as
// DxeImageVerificationLib.c's mHashOidValue lists them, in mHash's order.
// SHA-224 is listed but HashPeImage has no case for it. SHA-1 is compiled
// in: OvmfPkg/OvmfPkgX64.dsc does not define DISABLE_SHA1_DEPRECATED_INTERFACES.
struct FirmwareHash {
  const char* name;
  int nid;
  std::string_view oid;
  bool hashable;
};
const FirmwareHash k_firmware_hashes[] = {
    {"sha1", NID_sha1, {"\x2b\x0e\x03\x02\x1a", 5}, true},
    {"sha224", NID_sha224, {"\x60\x86\x48\x01\x65\x03\x04\x02\x04", 9}, false},
    {"sha256", NID_sha256, {"\x60\x86\x48\x01\x65\x03\x04\x02\x01", 9}, true},
    {"sha384", NID_sha384, {"\x60\x86\x48\x01\x65\x03\x04\x02\x02", 9}, true},
    {"sha512", NID_sha512, {"\x60\x86\x48\x01\x65\x03\x04\x02\x03", 9}, true},
};

// HashPeImageByType: the algorithm is read at a fixed offset of AuthData,
// byte 32, which is the first digestAlgorithms OID when every length before
// it takes the form EDK2 assumes (the outer one two bytes long: byte 1 must
// have the 0x82 bits set). `head` holds AuthData's first bytes (up to 41).
const FirmwareHash* firmware_hash(std::string_view head, uint64_t size, std::string& problem) {
  for (const auto& h : k_firmware_hashes) {
    if (head.size() < 2 || (static_cast<unsigned char>(head[1]) & 0x82) != 0x82) continue;
    if (size < 32 + h.oid.size()) {
      problem = "the PKCS#7 is too short for EDK2 to find its digest algorithm";
      return nullptr;
    }
    if (head.substr(32, h.oid.size()) == h.oid) {
      if (!h.hashable) {
        problem = std::string("EDK2 cannot hash an image with ") + h.name;
        return nullptr;
      }
      return &h;
    }
  }
  problem =
      "EDK2 finds no digest algorithm it knows at byte 32 of the PKCS#7 (a length encoding other than two bytes, "
      "or not SHA-1/256/384/512)";
  return nullptr;
}

Result<std::string> digest_with(const RandomAccess& file, const PeImage& image, const EVP_MD* md) {
  auto ranges = authenticode_ranges(image);
  if (!ranges)
    return fail(ErrorKind::invalid_input,
                "EDK2 cannot hash this image: its sections and certificate table claim more bytes "
                "than the file holds (HashPeImage)");
  ossl::Ptr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  EVP_DigestInit_ex(ctx.get(), md, nullptr);
  std::string buffer(k_stream_chunk, '\0');
  for (const auto& range : *ranges) {
    uint64_t done = 0;
    while (done < range.length) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(k_stream_chunk, range.length - done));
      if (auto st = file.read_at(range.offset + done, std::span<char>(buffer.data(), n)); !st) return fail(st.error());
      EVP_DigestUpdate(ctx.get(), buffer.data(), n);
      done += n;
    }
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

// The SpcIndirectDataContent as AuthenticodeVerify reads it: the bytes of
// contents->d.other's string (for a SEQUENCE: its whole encoding), its
// length from byte 1 in the three forms EDK2 knows, tested with EDK2's masks
// and in its order (so 0x83 is read as one length byte). Fails with the
// reason; on success `content` is what follows the tag and length.
bool indirect_content(PKCS7* contents, std::string_view& content, std::string& problem) {
  ASN1_TYPE* other = contents->d.other;
  // value.asn1_string is meaningful for every type but these three; EDK2
  // reads it regardless, which for them is undefined.
  if (other == nullptr || other->type == V_ASN1_BOOLEAN || other->type == V_ASN1_NULL || other->type == V_ASN1_OBJECT) {
    problem = "signed content is not Authenticode SpcIndirectDataContent";
    return false;
  }
  std::string_view data(reinterpret_cast<const char*>(ASN1_STRING_get0_data(other->value.asn1_string)),
                        static_cast<size_t>(ASN1_STRING_length(other->value.asn1_string)));
  auto byte = [&](size_t i) { return static_cast<unsigned char>(data[i]); };
  size_t size, skip;
  if (data.size() < 2) {
    problem = "SpcIndirectDataContent is empty";
    return false;
  }
  if ((byte(1) & 0x80) == 0) {
    size = byte(1) & 0x7f, skip = 2;
  } else if ((byte(1) & 0x81) == 0x81 && data.size() >= 3) {
    size = byte(2), skip = 3;
  } else if ((byte(1) & 0x82) == 0x82 && data.size() >= 4) {
    size = size_t{byte(2)} << 8 | byte(3), skip = 4;
  } else {
    problem = "SpcIndirectDataContent's length is in a form EDK2 does not read";
    return false;
  }
  if (size > data.size() - skip) {
    problem = "SpcIndirectDataContent is shorter than its length says";
    return false;
  }
  content = data.substr(skip, size);
  return true;
}

// The digest of `der`'s TBSCertificate (X509GetTBSCert, for IsCertHashFoundInDbx).
std::string tbs_digest(X509* cert, const EVP_MD* md) {
  unsigned char* tbs = nullptr;
  int len = i2d_re_X509_tbs(cert, &tbs);
  std::string out;
  if (len > 0) {
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(tbs, static_cast<size_t>(len), d, &n, md, nullptr);
    out.assign(reinterpret_cast<char*>(d), n);
  }
  OPENSSL_free(tbs);
  return out;
}

const EVP_MD* dbx_cert_md(const std::string& name) {
  return name == "sha256" ? EVP_sha256() : name == "sha384" ? EVP_sha384() : name == "sha512" ? EVP_sha512() : nullptr;
}

// IsCertHashFoundInDbx: the certificate's TBS digest among dbx's X.509
// digests. Without a dbt (sbpipe has none) PassTimestampCheck never passes,
// so every entry revokes, whatever its time.
bool cert_revoked(X509* cert, const SignatureDatabase* dbx) {
  if (dbx == nullptr) return false;
  for (const auto& e : dbx->cert_digests)
    if (const EVP_MD* md = dbx_cert_md(e.algorithm); md != nullptr && tbs_digest(cert, md) == e.digest) return true;
  return false;
}

using DigestCache = std::map<int, Result<std::string>>;

struct Anchors {
  const SignatureDatabase& db;
  const SignatureDatabase* dbx;
  std::vector<ossl::Ptr<X509>> db_certs;
  std::vector<ossl::Ptr<X509>> dbx_certs;
};

// What one PKCS#7 entry decides: nothing (skipped or failed), allowed, or
// forbidden (which ends the walk and refuses the image).
struct EntryDecision {
  SignatureCheck check;
  bool forbidden = false;
};

// One PKCS#7 entry, in DxeImageVerificationHandler's order: HashPeImageByType,
// IsForbiddenByDbx, IsAllowedByDb, then the image digest in dbx and db. Each
// certificate check is AuthenticodeVerify (CryptAuthenticode.c) with
// Pkcs7Verify as edk2_crypto.h states it.
Result<EntryDecision> check_entry(const RandomAccess& file, const PeImage& image, const WinCertificate& entry,
                                  const Anchors& anchors, DigestCache& cache) {
  EntryDecision d;
  SignatureCheck& check = d.check;
  std::string head(static_cast<size_t>(std::min<uint64_t>(41, entry.data_size)), '\0');
  if (auto st = file.read_at(entry.data_offset, head); !st) return fail(st.error());
  const FirmwareHash* hash = firmware_hash(head, entry.data_size, check.problem);
  auto auth = read_auth_data(file, entry, k_max_auth_data);
  if (!auth) {
    check.problem = auth.error().message() + ": not read";
    return d;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(auth->data());
  ossl::Ptr<PKCS7> p7(auth->empty() ? nullptr : d2i_PKCS7(nullptr, &p, static_cast<long>(auth->size())));
  ERR_clear_error();
  STACK_OF(X509)* signers = nullptr;
  if (p7 && PKCS7_type_is_signed(p7.get()) && p7->d.sign != nullptr) {
    // The signers as Pkcs7GetSigners finds them: among the signature's own certificates.
    signers = PKCS7_get0_signers(p7.get(), nullptr, 0);
    ERR_clear_error();
  }
  struct SignersFree {
    STACK_OF(X509) * s;
    ~SignersFree() { sk_X509_free(s); }
  } signers_free{signers};
  if (X509* signer = signers != nullptr && sk_X509_num(signers) > 0 ? sk_X509_value(signers, 0) : nullptr) {
    check.signer_subject = oneline(X509_get_subject_name(signer));
    check.signer_issuer = oneline(X509_get_issuer_name(signer));
    check.signer_key_type = key_type_name(X509_get0_pubkey(signer));
    ERR_clear_error();
    unsigned char* encoded = nullptr;
    int len = i2d_X509(signer, &encoded);
    if (len > 0) check.signer_der.assign(reinterpret_cast<char*>(encoded), static_cast<size_t>(len));
    OPENSSL_free(encoded);
  }
  auto done = [&](std::string problem) {
    check.problem = std::move(problem);
    return d;
  };
  if (hash == nullptr) return done(check.problem);  // HashPeImageByType failed: the entry is skipped
  check.digest_algorithm = hash->name;
  if (!cache.contains(hash->nid)) cache.emplace(hash->nid, digest_with(file, image, EVP_get_digestbynid(hash->nid)));
  const auto& digest = cache.at(hash->nid);
  if (!digest) {
    if (digest.error().kind() == ErrorKind::invalid_input) return done(digest.error().message());
    return fail(digest.error());
  }

  // AuthenticodeVerify up to Pkcs7Verify: what does not depend on the certificate.
  std::string_view content;
  std::string content_problem;
  if (!p7)
    content_problem = "signature is not PKCS#7 DER";
  else if (auth->size() > INT_MAX)
    content_problem = "signature is too large";
  else if (!PKCS7_type_is_signed(p7.get()) || PKCS7_get_detached(p7.get()))
    content_problem = "signature is not PKCS#7 SignedData with its content";
  else {
    PKCS7* contents = p7->d.sign->contents;
    std::string_view type(reinterpret_cast<const char*>(OBJ_get0_data(contents->type)), OBJ_length(contents->type));
    if (type != k_spc_indirect_data)
      content_problem = "signed content is not Authenticode SpcIndirectDataContent";
    else if (indirect_content(contents, content, content_problem)) {
      // The digest must be the content's last bytes (the DigestInfo's OCTET
      // STRING when the content is well formed; EDK2 does not parse it).
      if (content.size() < digest->size() || content.substr(content.size() - digest->size()) != *digest)
        content_problem = "image digest (" + std::string(hash->name) +
                          ") does not match the signed digest (the file was modified after signing, or the signature "
                          "names another digest)";
    }
  }
  // PKCS#7 framing WrapPkcs7Data takes as a ContentInfo (CryptPkcs7VerifyCommon.c:66-72); anything
  // else it wraps again, which OpenSSL then cannot read as SignedData.
  bool framed = auth->size() >= 17 && (*auth)[4] == 0x06 && (*auth)[5] == 0x09 && auth->substr(6, 9) == k_signed_data_oid &&
                static_cast<unsigned char>((*auth)[15]) == 0xa0 && static_cast<unsigned char>((*auth)[16]) == 0x82;
  auto authenticode_verify = [&](X509* anchor) -> Edk2Pkcs7Result {
    if (!content_problem.empty()) return {false, content_problem};
    if (!framed) return {false, "the PKCS#7 is not framed as EDK2 reads it (WrapPkcs7Data)"};
    return edk2_pkcs7_verify(p7.get(), content, anchor);
  };

  // IsForbiddenByDbx.
  if (anchors.dbx != nullptr) {
    for (const auto& x : anchors.dbx_certs)
      if (authenticode_verify(x.get()).verified) {
        d.forbidden = true;
        return done("verifies under a dbx certificate: forbidden");
      }
    if (signers == nullptr || sk_X509_num(signers) == 0) {
      d.forbidden = true;
      return done("dbx is set and the firmware finds no signer certificate in the signature: forbidden");
    }
    for (int i = 0; i < sk_X509_num(signers); ++i)
      if (cert_revoked(sk_X509_value(signers, i), anchors.dbx)) {
        d.forbidden = true;
        return done("its signer's certificate digest is in dbx: forbidden");
      }
  }
  // IsAllowedByDb: the first db certificate that verifies decides.
  std::string why_not = anchors.db_certs.empty() ? "db holds no certificate" : "";
  bool reached = false;  // a db certificate the signers chain to explains the refusal best
  for (const auto& anchor : anchors.db_certs) {
    auto r = authenticode_verify(anchor.get());
    if (!r.verified) {
      if (why_not.empty() || (r.reached && !reached)) why_not = r.problem;
      reached = reached || r.reached;
      continue;
    }
    if (cert_revoked(anchor.get(), anchors.dbx)) {
      why_not = "verifies under a db certificate whose digest is in dbx";
      break;
    }
    unsigned char* encoded = nullptr;
    int len = i2d_X509(anchor.get(), &encoded);
    if (len > 0) check.anchor_der.assign(reinterpret_cast<char*>(encoded), static_cast<size_t>(len));
    OPENSSL_free(encoded);
    check.accepted_by = "db certificate '" + oneline(X509_get_subject_name(anchor.get())) + "'";
    break;
  }
  // The image digest of this signature's algorithm in dbx, then in db.
  if (anchors.dbx != nullptr && anchors.dbx->has_image_digest(hash->name, *digest)) {
    d.forbidden = true;
    check.accepted_by.clear();
    return done(std::string("its ") + hash->name + " Authenticode digest is in dbx: forbidden");
  }
  if (check.accepted_by.empty() && anchors.db.has_image_digest(hash->name, *digest)) {
    check.accepted_by = std::string("db ") + hash->name + " image digest";
    check.anchor_digest = *digest;
  }
  if (check.accepted_by.empty()) return done(content_problem.empty() ? why_not : content_problem);
  return done("");
}

}  // namespace

bool AuthenticodeReport::ok() const {
  if (!accepted_by_digest.empty()) return true;
  return forbidden.empty() && unsigned_problem.empty() && table_problem.empty() && accepted() != nullptr;
}

const SignatureCheck* AuthenticodeReport::accepted() const {
  for (const auto& s : signatures)
    if (s.ok()) return &s;
  return nullptr;
}

std::string AuthenticodeReport::problem() const {
  if (ok()) return "";
  if (!unsigned_problem.empty()) return unsigned_problem;
  if (!forbidden.empty()) return "refused by dbx: " + forbidden;
  if (!table_problem.empty()) return "the certificate table is damaged: " + table_problem + " (the firmware refuses the image)";
  std::string out;
  for (const auto& s : signatures) {
    if (!out.empty()) out += "; ";
    out += s.problem;
  }
  return out;
}

Result<IndirectData> parse_indirect_data(std::string_view der) {
  auto context = [](const Error& e) { return fail(e.with_context("SpcIndirectDataContent")); };
  DerReader top(der);
  auto outer = top.expect(k_der_sequence, "SpcIndirectDataContent");
  if (!outer) return context(outer.error());
  DerReader fields(outer->content);
  auto data = fields.expect(k_der_sequence, "data");
  if (!data) return context(data.error());
  DerReader data_fields(data->content);
  auto type = data_fields.expect(k_der_oid, "data.type");
  if (!type) return context(type.error());
  if (type->content != k_spc_pe_image_data)
    return fail(ErrorKind::invalid_input, "SpcIndirectDataContent: not a PE image data object");
  auto digest_info = fields.expect(k_der_sequence, "messageDigest");
  if (!digest_info) return context(digest_info.error());
  DerReader digest_fields(digest_info->content);
  auto algorithm = digest_fields.expect(k_der_sequence, "digestAlgorithm");
  if (!algorithm) return context(algorithm.error());
  auto digest = digest_fields.expect(k_der_octet_string, "digest");
  if (!digest) return context(digest.error());
  DerReader algorithm_fields(algorithm->content);
  auto oid = algorithm_fields.expect(k_der_oid, "digestAlgorithm.algorithm");
  if (!oid) return context(oid.error());
  return IndirectData{oid->whole, digest->content};
}

// DxeImageVerificationHandler: an unsigned image by its SHA-256 digest;
// a signed one entry by entry (an accepted entry does not end the walk: a
// later dbx match or a damaged table still refuses the image).
Result<std::vector<std::string>> authenticode_algorithms(const RandomAccess& file, const PeImage& image) {
  std::vector<std::string> out{"sha256"};
  auto table = read_certificate_table(file, image);
  if (!table) return fail(table.error());
  for (const auto& entry : table->entries) {
    if (!entry.pkcs7) continue;
    std::string head(static_cast<size_t>(std::min<uint64_t>(41, entry.data_size)), '\0');
    if (auto st = file.read_at(entry.data_offset, head); !st) return fail(st.error());
    std::string problem;
    if (const FirmwareHash* h = firmware_hash(head, entry.data_size, problem))
      if (std::find(out.begin(), out.end(), h->name) == out.end()) out.push_back(h->name);
  }
  return out;
}

Result<AuthenticodeReport> check_authenticode(const RandomAccess& file, const PeImage& image, const SignatureDatabase& db,
                                              const SignatureDatabase* dbx, const AuthenticodeDigests* precomputed) {
  Anchors anchors{db, dbx, {}, {}};
  auto parse = [](const std::string& der, std::vector<ossl::Ptr<X509>>& out, const char* which) -> Status {
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    ossl::Ptr<X509> cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    if (!cert) return fail(ErrorKind::invalid_input, std::string(which) + " certificate does not parse: " + ossl::take_error());
    out.push_back(std::move(cert));
    return {};
  };
  for (const auto& der : db.certificates)
    if (auto st = parse(der, anchors.db_certs, "a db"); !st) return fail(st.error());
  if (dbx != nullptr)
    for (const auto& der : dbx->certificates)
      if (auto st = parse(der, anchors.dbx_certs, "a dbx"); !st) return fail(st.error());
  AuthenticodeReport report;
  DigestCache cache;
  if (precomputed != nullptr)
    for (const auto& h : k_firmware_hashes)
      if (auto it = precomputed->find(h.name); it != precomputed->end()) cache.emplace(h.nid, it->second);
  if (!cache.contains(NID_sha256)) cache.emplace(NID_sha256, digest_with(file, image, EVP_sha256()));
  auto& sha256 = cache.at(NID_sha256);
  if (sha256)
    report.sha256 = to_hex(*sha256);
  else if (sha256.error().kind() != ErrorKind::invalid_input)
    return fail(sha256.error());
  if (!image.is_signed()) {
    if (!sha256) {
      report.unsigned_problem = sha256.error().message();
    } else if (dbx != nullptr && dbx->has_image_digest("sha256", *sha256)) {
      report.unsigned_problem = "unsigned, and its SHA-256 Authenticode digest is in dbx";
    } else if (db.has_image_digest("sha256", *sha256)) {
      report.accepted_by_digest = "its SHA-256 Authenticode digest is in db (unsigned)";
    } else {
      report.unsigned_problem = "unsigned (no Authenticode signature), and its SHA-256 is not in db";
    }
    return report;
  }
  auto table = read_certificate_table(file, image);
  if (!table) return fail(table.error());
  report.table_problem = table->incomplete;
  for (const auto& entry : table->entries) {
    if (!entry.pkcs7) {
      report.signatures.push_back(SignatureCheck{.problem = "skipped: " + entry.skipped});
      continue;
    }
    auto decision = check_entry(file, image, entry, anchors, cache);
    if (!decision) return fail(decision.error());
    report.signatures.push_back(std::move(decision->check));
    if (decision->forbidden) {
      report.forbidden = report.signatures.back().problem;
      break;
    }
  }
  if (report.signatures.empty() && report.table_problem.empty()) report.table_problem = "the certificate table holds no entry";
  return report;
}

}  // namespace sbpipe

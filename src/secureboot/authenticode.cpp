#include "secureboot/authenticode.h"

#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include <climits>
#include <cstring>
#include <map>
#include <optional>

#include "core/openssl_util.h"
#include "core/stream.h"
#include "secureboot/der.h"

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

std::string hex(const unsigned char* data, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 15];
  }
  return out;
}

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

std::string key_type(X509* cert) {
  EVP_PKEY* key = X509_get0_pubkey(cert);
  ERR_clear_error();
  if (key == nullptr) return "unknown";
  switch (EVP_PKEY_get_base_id(key)) {
  case EVP_PKEY_RSA: return "RSA";
  case EVP_PKEY_RSA_PSS: return "RSA-PSS";
  case EVP_PKEY_EC: return "EC";
  case EVP_PKEY_DSA: return "DSA";
  case EVP_PKEY_ED25519: return "Ed25519";
  case EVP_PKEY_ED448: return "Ed448";
  case EVP_PKEY_SM2: return "SM2";
  }
  return "other";
}

// OPENSSL_NO_EC removes EC, EdDSA and SM2 from the firmware's OpenSSL.
bool firmware_lacks(const std::string& type) { return type == "EC" || type == "Ed25519" || type == "Ed448" || type == "SM2"; }

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

// Pkcs7Verify with one trusted certificate (CryptPkcs7VerifyCommon.c).
// WrapPkcs7Data takes the data as a ContentInfo only when bytes 4-16 are
// the signedData OID and "A0 82"; anything else it wraps again, which
// OpenSSL then cannot read as SignedData.
bool pkcs7_verify(PKCS7* p7, std::string_view auth, X509* trusted, std::string_view content) {
  if (auth.size() < 17 || auth[4] != 0x06 || auth[5] != 0x09 || auth.substr(6, 9) != k_signed_data_oid ||
      static_cast<unsigned char>(auth[15]) != 0xa0 || static_cast<unsigned char>(auth[16]) != 0x82)
    return false;
  ossl::Ptr<X509_STORE> store(X509_STORE_new());
  if (!X509_STORE_add_cert(store.get(), trusted)) return false;
  X509_STORE_set_flags(store.get(), X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_NO_CHECK_TIME);
  X509_STORE_set_purpose(store.get(), X509_PURPOSE_ANY);
  auto bio = ossl::memory_bio(content);
  bool ok = PKCS7_verify(p7, nullptr, store.get(), bio.get(), nullptr, PKCS7_BINARY) == 1;
  ERR_clear_error();
  return ok;
}

// The chain from `signer` (with the signature's own certificates) to `anchor`, built as
// Pkcs7Verify builds it: a partial chain ends at the anchor, no clock, any purpose. The
// context (kept with its store) holds the chain or the error.
struct ChainCheck {
  ossl::Ptr<X509_STORE> store;
  ossl::Ptr<X509_STORE_CTX> ctx;
  bool verified = false;
};

ChainCheck check_chain(PKCS7* p7, X509* signer, X509* anchor) {
  ChainCheck check{ossl::Ptr<X509_STORE>(X509_STORE_new()), ossl::Ptr<X509_STORE_CTX>(X509_STORE_CTX_new())};
  X509_STORE_add_cert(check.store.get(), anchor);
  X509_STORE_set_flags(check.store.get(), X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_NO_CHECK_TIME);
  X509_STORE_set_purpose(check.store.get(), X509_PURPOSE_ANY);
  X509_STORE_CTX_init(check.ctx.get(), check.store.get(), signer, p7->d.sign->cert);
  X509_STORE_CTX_set_default(check.ctx.get(), "smime_sign");
  check.verified = X509_verify_cert(check.ctx.get()) == 1;
  return check;
}

// Why no trusted certificate verified the signature: the chain error
// against each (as Pkcs7Verify builds it), or the signature's own.
std::string why_not_verified(PKCS7* p7, X509* signer, const std::vector<ossl::Ptr<X509>>& trusted, const std::string& who) {
  if (signer == nullptr) return "the signer's certificate is not in the signature (the firmware looks for it nowhere else)";
  std::string chain_error;
  for (const auto& anchor : trusted) {
    ChainCheck check = check_chain(p7, signer, anchor.get());
    if (check.verified) {
      ERR_clear_error();
      return "PKCS#7 signature by '" + who + "' does not verify";
    }
    chain_error = X509_verify_cert_error_string(X509_STORE_CTX_get_error(check.ctx.get()));
  }
  ERR_clear_error();
  if (trusted.empty()) return "no trusted certificate given";
  return "signed by '" + who + "', which is not the given certificate nor issued by it (" + chain_error + ")";
}

// The key types of the chain that verified `signer` against `anchor`.
std::vector<std::string> chain_key_types(PKCS7* p7, X509* signer, X509* anchor) {
  std::vector<std::string> types;
  ChainCheck check = check_chain(p7, signer, anchor);
  if (check.verified) {
    STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(check.ctx.get());
    for (int i = 0; i < sk_X509_num(chain); ++i) types.push_back(key_type(sk_X509_value(chain, i)));
  }
  ERR_clear_error();
  return types;
}

using DigestCache = std::map<int, Result<std::string>>;

// One PKCS#7 entry, through HashPeImageByType, AuthenticodeVerify and
// Pkcs7Verify against each trusted certificate in turn (IsAllowedByDb).
Result<SignatureCheck> check_entry(const RandomAccess& file, const PeImage& image, const WinCertificate& entry,
                                   const std::vector<ossl::Ptr<X509>>& trusted, DigestCache& cache) {
  SignatureCheck check;
  std::string head(static_cast<size_t>(std::min<uint64_t>(41, entry.data_size)), '\0');
  if (auto st = file.read_at(entry.data_offset, head); !st) return fail(st.error());
  const FirmwareHash* hash = firmware_hash(head, entry.data_size, check.problem);
  auto auth = read_auth_data(file, entry, k_max_auth_data);
  if (!auth) {
    check.problem = auth.error().message() + ": not read";
    return check;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(auth->data());
  ossl::Ptr<PKCS7> p7(auth->empty() ? nullptr : d2i_PKCS7(nullptr, &p, static_cast<long>(auth->size())));
  ERR_clear_error();
  X509* signer = nullptr;
  STACK_OF(X509)* signers = nullptr;
  if (p7 && PKCS7_type_is_signed(p7.get()) && p7->d.sign != nullptr) {
    // The signer as Pkcs7Verify finds it: among the signature's own certificates.
    signers = PKCS7_get0_signers(p7.get(), nullptr, 0);
    ERR_clear_error();
    signer = signers != nullptr && sk_X509_num(signers) > 0 ? sk_X509_value(signers, 0) : nullptr;
  }
  if (signer != nullptr) {
    check.signer_subject = oneline(X509_get_subject_name(signer));
    check.signer_issuer = oneline(X509_get_issuer_name(signer));
    check.signer_key_type = key_type(signer);
    unsigned char* encoded = nullptr;
    int len = i2d_X509(signer, &encoded);
    if (len > 0) check.signer_der.assign(reinterpret_cast<char*>(encoded), static_cast<size_t>(len));
    OPENSSL_free(encoded);
  }
  auto done = [&](std::string problem) {
    check.problem = std::move(problem);
    sk_X509_free(signers);
    return check;
  };
  if (hash == nullptr) return done(check.problem);
  check.digest_algorithm = hash->name;

  // AuthenticodeVerify (CryptAuthenticode.c), in its order.
  if (!p7) return done("signature is not PKCS#7 DER");
  if (auth->size() > INT_MAX) return done("signature is too large");
  if (!PKCS7_type_is_signed(p7.get()) || PKCS7_get_detached(p7.get()))
    return done("signature is not PKCS#7 SignedData with its content");
  PKCS7* contents = p7->d.sign->contents;
  std::string_view type(reinterpret_cast<const char*>(OBJ_get0_data(contents->type)), OBJ_length(contents->type));
  if (type != k_spc_indirect_data) return done("signed content is not Authenticode SpcIndirectDataContent");
  std::string_view content;
  std::string problem;
  if (!indirect_content(contents, content, problem)) return done(problem);
  if (!cache.contains(hash->nid)) cache.emplace(hash->nid, digest_with(file, image, EVP_get_digestbynid(hash->nid)));
  const auto& digest = cache.at(hash->nid);
  if (!digest) {
    if (digest.error().kind() == ErrorKind::invalid_input) return done(digest.error().message());
    sk_X509_free(signers);
    return fail(digest.error());
  }
  // The digest must be the content's last bytes (the DigestInfo's OCTET
  // STRING when the content is well formed; EDK2 does not parse it).
  if (content.size() < digest->size() || content.substr(content.size() - digest->size()) != *digest)
    return done(
        "image digest (" + std::string(hash->name) +
        ") does not match the signed digest (the file was modified after signing, or the signature names another digest)");

  std::string who = check.signer_subject;
  for (const auto& anchor : trusted) {
    if (!pkcs7_verify(p7.get(), *auth, anchor.get(), content)) continue;
    for (const auto& t : chain_key_types(p7.get(), signer, anchor.get()))
      if (firmware_lacks(t))
        return done("signed with an " + t +
                    " key: the firmware's OpenSSL is built without EC (OPENSSL_NO_EC), so it cannot verify it");
    return done("");
  }
  return done(why_not_verified(p7.get(), signer, trusted, who));
}

}  // namespace

bool AuthenticodeReport::ok() const { return table_problem.empty() && accepted() != nullptr; }

const SignatureCheck* AuthenticodeReport::accepted() const {
  for (const auto& s : signatures)
    if (s.ok()) return &s;
  return nullptr;
}

std::string AuthenticodeReport::problem() const {
  if (signatures.empty() && table_problem.empty()) return "unsigned (no Authenticode signature)";
  if (!table_problem.empty()) return "the certificate table is damaged: " + table_problem + " (the firmware refuses the image)";
  std::string out;
  for (const auto& s : signatures) {
    if (s.ok()) return "";
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

// DxeImageVerificationHandler: every entry is checked (an accepted one does
// not end the walk: a damaged table still refuses the image).
Result<AuthenticodeReport> check_authenticode(const RandomAccess& file, const PeImage& image,
                                              const std::vector<std::string>& trusted) {
  std::vector<ossl::Ptr<X509>> anchors;
  for (const auto& der : trusted) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    ossl::Ptr<X509> cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    if (!cert) return fail(ErrorKind::invalid_input, "trusted certificate does not parse: " + ossl::take_error());
    anchors.push_back(std::move(cert));
  }
  AuthenticodeReport report;
  DigestCache cache;
  cache.emplace(NID_sha256, digest_with(file, image, EVP_sha256()));
  if (auto& sha256 = cache.at(NID_sha256))
    report.sha256 = hex(reinterpret_cast<const unsigned char*>(sha256->data()), sha256->size());
  else if (sha256.error().kind() != ErrorKind::invalid_input)
    return fail(sha256.error());
  auto table = read_certificate_table(file, image);
  if (!table) return fail(table.error());
  report.table_problem = table->incomplete;
  for (const auto& entry : table->entries) {
    if (!entry.pkcs7) {
      report.signatures.push_back(SignatureCheck{"", "", "", "", "", "skipped: " + entry.skipped});
      continue;
    }
    auto check = check_entry(file, image, entry, anchors, cache);
    if (!check) return fail(check.error());
    report.signatures.push_back(std::move(*check));
  }
  return report;
}

}  // namespace sbpipe

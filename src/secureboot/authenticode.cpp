#include "secureboot/authenticode.h"

#include <openssl/objects.h>

#include <cctype>
#include <map>

#include "secureboot/der.h"
#include "secureboot/openssl_util.h"

namespace sbpipe {
namespace {

constexpr const char* k_spc_indirect_data_oid = "1.3.6.1.4.1.311.2.1.4";
// 1.3.6.1.4.1.311.2.1.15, SPC_PE_IMAGE_DATAOBJ, as DER content octets.
constexpr std::string_view k_spc_pe_image_data{"\x2b\x06\x01\x04\x01\x82\x37\x02\x01\x0f", 10};
constexpr size_t k_chunk = 1 << 20;

std::string hex(const unsigned char* data, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 15];
  }
  return out;
}

Result<std::string> digest_with(const RandomAccess& file, const PeImage& image, const EVP_MD* md) {
  ossl::Ptr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  EVP_DigestInit_ex(ctx.get(), md, nullptr);
  std::string buffer(k_chunk, '\0');
  for (const auto& range : authenticode_ranges(image)) {
    uint64_t done = 0;
    while (done < range.length) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(k_chunk, range.length - done));
      if (auto st = file.read_at(range.offset + done, std::span<char>(buffer.data(), n)); !st) return fail(st.error());
      EVP_DigestUpdate(ctx.get(), buffer.data(), n);
      done += n;
    }
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), out, &len);
  return hex(out, len);
}

std::string oneline(X509_NAME* name) {
  char buf[512];
  X509_NAME_oneline(name, buf, sizeof buf);
  return buf;
}

using DigestCache = std::map<int, std::string>;

// Checks one PKCS#7 SignedData blob. `cache` holds the image's digests by
// algorithm, so several signatures hash a large image once.
SignatureCheck check_one(const RandomAccess& file, const PeImage& image, std::string_view der,
                         const std::vector<ossl::Ptr<X509>>& trusted, DigestCache& cache) {
  SignatureCheck check;
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ossl::Ptr<PKCS7> p7(d2i_PKCS7(nullptr, &p, static_cast<long>(der.size())));
  if (!p7) {
    check.problem = "signature is not PKCS#7 DER (" + ossl::take_error() + ")";
    return check;
  }
  if (!PKCS7_type_is_signed(p7.get()) || p7->d.sign == nullptr || p7->d.sign->contents == nullptr) {
    check.problem = "signature is not PKCS#7 SignedData";
    return check;
  }
  PKCS7* contents = p7->d.sign->contents;
  char oid[80];
  OBJ_obj2txt(oid, sizeof oid, contents->type, 1);
  if (std::string_view(oid) != k_spc_indirect_data_oid || contents->d.other == nullptr ||
      contents->d.other->type != V_ASN1_SEQUENCE) {
    check.problem = "signed content is not Authenticode SpcIndirectDataContent";
    return check;
  }
  const ASN1_STRING* seq = contents->d.other->value.sequence;
  std::string_view idc(reinterpret_cast<const char*>(ASN1_STRING_get0_data(seq)), static_cast<size_t>(ASN1_STRING_length(seq)));
  auto indirect = parse_indirect_data(idc);
  if (!indirect) {
    check.problem = indirect.error().message();
    return check;
  }

  const auto* oid_p = reinterpret_cast<const unsigned char*>(indirect->digest_oid.data());
  ossl::Ptr<ASN1_OBJECT> alg(d2i_ASN1_OBJECT(nullptr, &oid_p, static_cast<long>(indirect->digest_oid.size())));
  int nid = alg ? OBJ_obj2nid(alg.get()) : NID_undef;
  ERR_clear_error();
  check.digest_algorithm = nid != NID_undef ? OBJ_nid2sn(nid) : "unknown";
  for (char& c : check.digest_algorithm) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (nid != NID_sha256 && nid != NID_sha384 && nid != NID_sha512) {
    check.problem = "digest algorithm " + check.digest_algorithm + " is not accepted (sha256, sha384, sha512)";
    return check;
  }
  if (!cache.contains(nid)) {
    auto digest = digest_with(file, image, EVP_get_digestbynid(nid));
    if (!digest) {
      check.problem = digest.error().message();
      return check;
    }
    cache[nid] = *digest;
  }
  const std::string* computed = &cache[nid];
  std::string signed_digest = hex(reinterpret_cast<const unsigned char*>(indirect->digest.data()), indirect->digest.size());

  // The signature covers the content octets of SpcIndirectDataContent,
  // without its SEQUENCE tag and length (as sbverify and EDK2 pass it).
  DerReader outer(idc);
  auto whole = outer.expect(k_der_sequence, "SpcIndirectDataContent");
  auto content = ossl::memory_bio(whole->content);
  STACK_OF(X509)* extra = sk_X509_new_null();
  for (const auto& cert : trusted) sk_X509_push(extra, cert.get());
  ossl::Ptr<X509_STORE> empty_store(X509_STORE_new());
  int verified = PKCS7_verify(p7.get(), extra, empty_store.get(), content.get(), nullptr, PKCS7_BINARY | PKCS7_NOVERIFY);
  std::string verify_error = verified == 1 ? "" : ossl::take_error();

  STACK_OF(X509)* signers = PKCS7_get0_signers(p7.get(), extra, 0);
  ERR_clear_error();
  X509* signer = signers != nullptr && sk_X509_num(signers) > 0 ? sk_X509_value(signers, 0) : nullptr;
  if (signer != nullptr) {
    check.signer_subject = oneline(X509_get_subject_name(signer));
    check.signer_issuer = oneline(X509_get_issuer_name(signer));
    unsigned char* encoded = nullptr;
    int len = i2d_X509(signer, &encoded);
    if (len > 0) check.signer_der.assign(reinterpret_cast<char*>(encoded), static_cast<size_t>(len));
    OPENSSL_free(encoded);
  }

  if (*computed != signed_digest) {
    check.problem = "image digest does not match the signed digest (the file was modified after signing)";
  } else if (verified != 1) {
    check.problem = "PKCS#7 signature does not verify (" + verify_error + ")";
  } else if (signer == nullptr) {
    check.problem = "no signer certificate in the signature";
  } else {
    ossl::Ptr<X509_STORE> store(X509_STORE_new());
    for (const auto& cert : trusted) X509_STORE_add_cert(store.get(), cert.get());
    X509_STORE_set_flags(store.get(), X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_NO_CHECK_TIME);
    ossl::Ptr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
    X509_STORE_CTX_init(ctx.get(), store.get(), signer, p7->d.sign->cert);
    if (X509_verify_cert(ctx.get()) != 1) {
      check.problem = "signed by '" + check.signer_subject + "', which is not the given certificate nor issued by it (" +
                      X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())) + ")";
    }
    ERR_clear_error();
  }
  sk_X509_free(signers);
  sk_X509_free(extra);
  return check;
}

} // namespace

bool AuthenticodeReport::ok() const {
  for (const auto& s : signatures)
    if (s.ok()) return true;
  return false;
}

std::string AuthenticodeReport::problem() const {
  if (signatures.empty()) return "unsigned (no Authenticode signature)";
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
  auto sha256 = digest_with(file, image, EVP_sha256());
  if (!sha256) return fail(sha256.error());
  report.sha256 = *sha256;
  DigestCache cache{{NID_sha256, *sha256}};
  auto certs = read_certificates(file, image);
  if (!certs) return fail(certs.error());
  for (const auto& cert : *certs) {
    if (cert.type != k_win_cert_type_pkcs_signed_data) {
      report.signatures.push_back(SignatureCheck{"", "", "", "certificate entry is not PKCS#7 signed data"});
      continue;
    }
    report.signatures.push_back(check_one(file, image, cert.data, anchors, cache));
  }
  return report;
}

} // namespace sbpipe

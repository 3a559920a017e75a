#include "sigstore/trusted_root.h"

#include <ctime>

#include <nlohmann/json.hpp>

#include "core/base64.h"
#include "core/file.h"

namespace sbpipe {
namespace {

// Reads one TrustedRoot with errors that name the file and the field.
class Reader {
public:
  explicit Reader(std::string_view source) : m_source(source) {}

  std::unexpected<Error> bad(const std::string& field, const std::string& why) const {
    return fail(ErrorKind::config, m_source + ": " + field + ": " + why);
  }

  Result<const nlohmann::json*> member(const nlohmann::json& object, const std::string& field, const char* key,
                                       nlohmann::json::value_t type) const {
    std::string name = field.empty() ? key : field + "." + key;
    if (!object.contains(key)) return bad(name, "missing");
    const auto& value = object[key];
    if (value.type() != type) return bad(name, std::string("must be ") + type_name(type));
    return &value;
  }

  Result<std::string> string(const nlohmann::json& object, const std::string& field, const char* key) const {
    auto value = member(object, field, key, nlohmann::json::value_t::string);
    if (!value) return fail(value.error());
    return (*value)->get<std::string>();
  }

  Result<std::string> bytes(const nlohmann::json& object, const std::string& field, const char* key) const {
    auto text = string(object, field, key);
    if (!text) return fail(text.error());
    auto decoded = base64_decode(*text);
    if (!decoded || decoded->empty()) return bad(field + "." + key, "not base64");
    return *decoded;
  }

  Result<ValidityPeriod> valid_for(const nlohmann::json& object, const std::string& field) const {
    ValidityPeriod period;
    if (!object.contains("validFor")) return period;
    const auto& v = object["validFor"];
    if (!v.is_object()) return bad(field + ".validFor", "must be an object");
    for (auto [key, out] : {std::pair{"start", &period.start}, {"end", &period.end}}) {
      if (!v.contains(key)) continue;
      auto text = string(v, field + ".validFor", key);
      if (!text) return fail(text.error());
      *out = parse_rfc3339(*text);
      if (!*out) return bad(field + ".validFor." + key, "not an RFC 3339 time: " + *text);
    }
    return period;
  }

private:
  static const char* type_name(nlohmann::json::value_t type) {
    switch (type) {
    case nlohmann::json::value_t::string: return "a string";
    case nlohmann::json::value_t::array: return "a list";
    default: return "an object";
    }
  }

  std::string m_source;
};

Result<CertificateAuthority> read_ca(const Reader& r, const nlohmann::json& j, const std::string& field) {
  using T = nlohmann::json::value_t;
  if (!j.is_object()) return r.bad(field, "must be an object");
  CertificateAuthority ca;
  if (j.contains("uri") && j["uri"].is_string()) ca.uri = j["uri"].get<std::string>();
  auto chain = r.member(j, field, "certChain", T::object);
  if (!chain) return fail(chain.error());
  auto certs = r.member(**chain, field + ".certChain", "certificates", T::array);
  if (!certs) return fail(certs.error());
  if ((*certs)->empty()) return r.bad(field + ".certChain.certificates", "empty");
  for (size_t i = 0; i < (*certs)->size(); ++i) {
    std::string at = field + ".certChain.certificates[" + std::to_string(i) + "]";
    const auto& entry = (**certs)[i];
    if (!entry.is_object()) return r.bad(at, "must be an object");
    auto der = r.bytes(entry, at, "rawBytes");
    if (!der) return fail(der.error());
    auto cert = Certificate::parse_der(*der, at + ".rawBytes");
    if (!cert) return r.bad(at + ".rawBytes", "not a DER X.509 certificate");
    ca.chain.push_back(std::move(*cert));
  }
  auto period = r.valid_for(j, field);
  if (!period) return fail(period.error());
  ca.valid_for = *period;
  return ca;
}

Result<std::optional<TransparencyLog>> read_tlog(const Reader& r, const nlohmann::json& j, const std::string& field) {
  using T = nlohmann::json::value_t;
  if (!j.is_object()) return r.bad(field, "must be an object");
  auto algorithm = r.string(j, field, "hashAlgorithm");
  if (!algorithm) return fail(algorithm.error());
  if (*algorithm != "SHA2_256") return r.bad(field + ".hashAlgorithm", *algorithm + " is not supported (SHA2_256 is)");
  auto log_id = r.member(j, field, "logId", T::object);
  if (!log_id) return fail(log_id.error());
  auto key_id = r.bytes(**log_id, field + ".logId", "keyId");
  if (!key_id) return fail(key_id.error());
  auto public_key = r.member(j, field, "publicKey", T::object);
  if (!public_key) return fail(public_key.error());
  std::string pk_field = field + ".publicKey";
  auto details = r.string(**public_key, pk_field, "keyDetails");
  if (!details) return fail(details.error());
  auto der = r.bytes(**public_key, pk_field, "rawBytes");
  if (!der) return fail(der.error());
  // sigstore-go verifies a signed entry timestamp with ECDSA only (pkg/tlog/entry.go,
  // VerifySET); other logs (Rekor v2's Ed25519 ones, whose entries carry no SET) are
  // left out, as they could verify nothing sbpipe checks.
  if (*details != "PKIX_ECDSA_P256_SHA_256") return std::optional<TransparencyLog>();
  auto key = PublicKey::parse_der(*der, pk_field + ".rawBytes");
  if (!key || key->algorithm() != KeyAlgorithm::ecdsa_p256)
    return r.bad(pk_field + ".rawBytes", "not a DER ECDSA P-256 public key");
  auto period = r.valid_for(**public_key, pk_field);
  if (!period) return fail(period.error());
  TransparencyLog log{"", *key_id, std::move(*key), *period};
  if (j.contains("baseUrl") && j["baseUrl"].is_string()) log.base_url = j["baseUrl"].get<std::string>();
  return std::optional<TransparencyLog>(std::move(log));
}

}  // namespace

const TransparencyLog* TrustedRoot::log(std::string_view key_id) const {
  for (const auto& log : tlogs)
    if (log.key_id == key_id) return &log;
  return nullptr;
}

const TransparencyLog* TrustedRoot::ctlog(std::string_view key_id) const {
  for (const auto& log : ctlogs)
    if (log.key_id == key_id) return &log;
  return nullptr;
}

std::optional<int64_t> parse_rfc3339(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)
  auto digits = [&](size_t at, size_t n) -> std::optional<int> {
    if (at + n > text.size()) return std::nullopt;
    int v = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      v = v * 10 + (text[i] - '0');
    }
    return v;
  };
  auto year = digits(0, 4), month = digits(5, 2), day = digits(8, 2), hour = digits(11, 2), minute = digits(14, 2),
       second = digits(17, 2);
  if (!year || !month || !day || !hour || !minute || !second || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != 't') || text[13] != ':' || text[16] != ':')
    return std::nullopt;
  if (*month < 1 || *month > 12 || *day < 1 || *day > 31 || *hour > 23 || *minute > 59 || *second > 60) return std::nullopt;
  size_t at = 19;
  if (at < text.size() && text[at] == '.') {
    ++at;
    size_t begin = at;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') ++at;
    if (at == begin) return std::nullopt;
  }
  int64_t offset = 0;
  if (at < text.size() && (text[at] == 'Z' || text[at] == 'z')) {
    ++at;
  } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
    auto oh = digits(at + 1, 2), om = digits(at + 4, 2);
    if (!oh || !om || text[at + 3] != ':') return std::nullopt;
    offset = (text[at] == '+' ? 1 : -1) * (*oh * 3600 + *om * 60);
    at += 6;
  } else {
    return std::nullopt;
  }
  if (at != text.size()) return std::nullopt;
  struct tm parts {};
  parts.tm_year = *year - 1900;
  parts.tm_mon = *month - 1;
  parts.tm_mday = *day;
  parts.tm_hour = *hour;
  parts.tm_min = *minute;
  parts.tm_sec = *second;
  return static_cast<int64_t>(timegm(&parts)) - offset;
}

Result<TrustedRoot> parse_trusted_root(std::string_view json, std::string_view source) {
  using T = nlohmann::json::value_t;
  Reader r(source);
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded()) return r.bad("(document)", "not JSON");
  if (!j.is_object()) return r.bad("(document)", "must be a JSON object");
  auto media_type = r.string(j, "", "mediaType");
  if (!media_type) return fail(media_type.error());
  if (*media_type != k_trusted_root_media_type) return r.bad("mediaType", *media_type + " is not " + k_trusted_root_media_type);
  TrustedRoot root;
  root.source = std::string(source);
  auto cas = r.member(j, "", "certificateAuthorities", T::array);
  if (!cas) return fail(cas.error());
  for (size_t i = 0; i < (*cas)->size(); ++i) {
    auto ca = read_ca(r, (**cas)[i], "certificateAuthorities[" + std::to_string(i) + "]");
    if (!ca) return fail(ca.error());
    root.certificate_authorities.push_back(std::move(*ca));
  }
  for (auto [key, out] : {std::pair{"tlogs", &root.tlogs}, {"ctlogs", &root.ctlogs}}) {
    if (std::string_view(key) == "ctlogs" && !j.contains(key)) continue;
    auto logs = r.member(j, "", key, T::array);
    if (!logs) return fail(logs.error());
    for (size_t i = 0; i < (*logs)->size(); ++i) {
      auto log = read_tlog(r, (**logs)[i], std::string(key) + "[" + std::to_string(i) + "]");
      if (!log) return fail(log.error());
      if (*log) out->push_back(std::move(**log));
    }
  }
  if (root.certificate_authorities.empty()) return r.bad("certificateAuthorities", "empty: no CA to check a certificate against");
  if (root.tlogs.empty()) return r.bad("tlogs", "no ECDSA P-256 log (PKIX_ECDSA_P256_SHA_256): no log to check an entry against");
  return root;
}

Result<TrustedRoot> load_trusted_root(const std::filesystem::path& path) {
  auto text = read_small_file(path, 4 << 20);
  if (!text) return fail(ErrorKind::config, "trusted root " + path.string() + ": " + text.error().message());
  return parse_trusted_root(*text, path.string());
}

}  // namespace sbpipe

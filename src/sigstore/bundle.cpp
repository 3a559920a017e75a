#include "sigstore/bundle.h"

#include <regex>

#include "core/base64.h"
#include "core/sha256.h"
#include "sigstore/intoto.h"

namespace sbpipe {
namespace {

std::unexpected<Error> bad(const std::string& why) { return fail(ErrorKind::invalid_input, "sigstore bundle: " + why); }

// (major, minor) of a bundle media type: "...bundle.v0.3+json" or the
// older "...bundle+json;version=0.1".
std::optional<std::pair<int, int>> bundle_version(const std::string& media_type) {
  static const std::regex k_new(R"(application/vnd\.dev\.sigstore\.bundle\.v(\d{1,4})\.(\d{1,4})\+json)");
  static const std::regex k_old(R"(application/vnd\.dev\.sigstore\.bundle\+json;version=(\d{1,4})\.(\d{1,4}))");
  std::smatch m;
  if (std::regex_match(media_type, m, k_new) || std::regex_match(media_type, m, k_old))
    return std::pair{std::stoi(m[1]), std::stoi(m[2])};
  return std::nullopt;
}

Result<std::string> base64_field(const nlohmann::json& object, const char* key, const std::string& where) {
  if (!object.is_object() || !object.contains(key) || !object[key].is_string()) return bad("no " + where + "." + key);
  auto decoded = base64_decode(object[key].get<std::string>());
  if (!decoded) return bad(where + "." + key + " is not base64");
  return *decoded;
}

}  // namespace

std::string bundle_json(const Bundle& bundle) {
  nlohmann::json material = nlohmann::json::object();
  if (bundle.public_key_hint) material["publicKey"] = {{"hint", *bundle.public_key_hint}};
  if (bundle.certificate_der) material["certificate"] = {{"rawBytes", base64_encode(*bundle.certificate_der)}};
  if (!bundle.tlog_entries.empty()) material["tlogEntries"] = bundle.tlog_entries;
  if (!bundle.timestamp_data.is_null()) material["timestampVerificationData"] = bundle.timestamp_data;
  nlohmann::json j{{"mediaType", bundle.media_type}, {"verificationMaterial", material}};
  if (bundle.message)
    j["messageSignature"] = {{"messageDigest", {{"algorithm", "SHA2_256"}, {"digest", base64_encode(bundle.message->sha256)}}},
                             {"signature", base64_encode(bundle.message->signature)}};
  if (bundle.dsse) j["dsseEnvelope"] = dsse_json(*bundle.dsse);
  return j.dump();
}

Result<Bundle> parse_bundle(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return bad("not a JSON object");
  Bundle bundle;
  if (!j.contains("mediaType") || !j["mediaType"].is_string()) return bad("no mediaType");
  bundle.media_type = j["mediaType"].get<std::string>();
  auto version = bundle_version(bundle.media_type);
  if (!version) return bad("unknown mediaType " + bundle.media_type);
  if (*version < std::pair{0, 1} || *version >= std::pair{0, 4})
    return bad("version " + std::to_string(version->first) + "." + std::to_string(version->second) + " is not supported");

  if (!j.contains("verificationMaterial") || !j["verificationMaterial"].is_object()) return bad("no verificationMaterial");
  const auto& material = j["verificationMaterial"];
  if (material.contains("publicKey")) {
    const auto& pk = material["publicKey"];
    bundle.public_key_hint = pk.is_object() && pk.contains("hint") && pk["hint"].is_string() ? pk["hint"].get<std::string>() : "";
  } else if (material.contains("certificate")) {
    auto der = base64_field(material["certificate"], "rawBytes", "verificationMaterial.certificate");
    if (!der) return fail(der.error());
    bundle.certificate_der = *der;
  } else if (material.contains("x509CertificateChain")) {
    // v0.1/v0.2: the leaf first (v0.3 forbids a chain: sigstore-go validate()).
    if (*version >= std::pair{0, 3}) return bad("a v0.3 bundle cannot carry a certificate chain");
    const auto& chain = material["x509CertificateChain"];
    if (!chain.is_object() || !chain.contains("certificates") || !chain["certificates"].is_array() ||
        chain["certificates"].empty())
      return bad("an empty verificationMaterial.x509CertificateChain");
    auto der = base64_field(chain["certificates"][0], "rawBytes", "verificationMaterial.x509CertificateChain.certificates[0]");
    if (!der) return fail(der.error());
    bundle.certificate_der = *der;
  } else {
    return bad("verificationMaterial names no key or certificate");
  }
  if (material.contains("tlogEntries")) {
    if (!material["tlogEntries"].is_array()) return bad("verificationMaterial.tlogEntries is not a list");
    bundle.tlog_entries = material["tlogEntries"];
    // sigstore-go validate(): a v0.1 bundle's entries carry an inclusion
    // promise (SET), later versions' an inclusion proof.
    const char* needed = *version == std::pair{0, 1} ? "inclusionPromise" : "inclusionProof";
    for (const auto& entry : bundle.tlog_entries)
      if (!entry.is_object() || !entry.contains(needed))
        return bad(std::string("a v") + std::to_string(version->first) + "." + std::to_string(version->second) +
                   " bundle's transparency-log entries need an " + needed);
  }
  if (material.contains("timestampVerificationData")) bundle.timestamp_data = material["timestampVerificationData"];

  if (j.contains("messageSignature")) {
    const auto& ms = j["messageSignature"];
    if (!ms.is_object() || !ms.contains("messageDigest") || !ms["messageDigest"].is_object())
      return bad("messageSignature has no messageDigest");
    const auto& md = ms["messageDigest"];
    if (!md.contains("algorithm") || md["algorithm"] != "SHA2_256") return bad("messageDigest.algorithm is not SHA2_256");
    auto digest = base64_field(md, "digest", "messageSignature.messageDigest");
    if (!digest) return fail(digest.error());
    if (digest->size() != 32) return bad("messageSignature.messageDigest.digest is not 32 bytes");
    auto signature = base64_field(ms, "signature", "messageSignature");
    if (!signature) return fail(signature.error());
    bundle.message = MessageSignature{*digest, *signature};
  } else if (j.contains("dsseEnvelope")) {
    auto envelope = parse_dsse(j["dsseEnvelope"]);
    if (!envelope) return fail(envelope.error().with_context("sigstore bundle"));
    if (envelope->signatures.size() != 1) return bad("the DSSE envelope must carry exactly one signature");
    bundle.dsse = std::move(*envelope);
  } else {
    return bad("no messageSignature or dsseEnvelope");
  }
  return bundle;
}

Result<Bundle> sign_artifact_digest(const SigningKey& key, std::string_view sha256) {
  auto signature = key.sign_digest(sha256);
  if (!signature) return fail(signature.error());
  Bundle bundle;
  bundle.public_key_hint = key.public_key().hint();
  bundle.message = MessageSignature{std::string(sha256), *signature};
  return bundle;
}

Result<Bundle> sign_dsse(const SigningKey& key, std::string_view payload_type, std::string_view payload) {
  auto signature = key.sign(dsse_pae(payload_type, payload));
  if (!signature) return fail(signature.error());
  Bundle bundle;
  bundle.public_key_hint = key.public_key().hint();
  bundle.dsse = DsseEnvelope{std::string(payload_type), std::string(payload), {DsseSignature{"", *signature}}};
  return bundle;
}

Status verify_bundle_with_key(const Bundle& bundle, const PublicKey& key, std::string_view sha256) {
  if (bundle.message) {
    if (bundle.message->sha256 != sha256)
      return bad("it signs sha256:" + to_hex(bundle.message->sha256) + ", not sha256:" + to_hex(sha256));
    if (!key.verify_digest(sha256, bundle.message->signature))
      return bad("the signature does not verify with the key " + key.fingerprint().substr(0, 16));
    return {};
  }
  if (!bundle.dsse) return bad("no content");
  const auto& envelope = *bundle.dsse;
  if (envelope.signatures.empty() || !key.verify(dsse_pae(envelope.payload_type, envelope.payload), envelope.signatures[0].sig))
    return bad("the DSSE signature does not verify with the key " + key.fingerprint().substr(0, 16));
  if (envelope.payload_type != k_intoto_payload_type)
    return bad("the DSSE payload is " + envelope.payload_type + ", not in-toto");
  auto statement = parse_statement(envelope.payload);
  if (!statement) return fail(statement.error());
  std::string want = to_hex(sha256);
  for (const auto& s : statement->subjects)
    if (s.sha256_hex == want) return {};
  return bad("the statement's subjects do not include sha256:" + want);
}

}  // namespace sbpipe

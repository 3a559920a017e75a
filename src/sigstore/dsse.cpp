#include "sigstore/dsse.h"

#include "core/base64.h"

namespace sbpipe {

std::string dsse_pae(std::string_view payload_type, std::string_view payload) {
  return "DSSEv1 " + std::to_string(payload_type.size()) + " " + std::string(payload_type) + " " +
         std::to_string(payload.size()) + " " + std::string(payload);
}

nlohmann::json dsse_json(const DsseEnvelope& envelope) {
  nlohmann::json sigs = nlohmann::json::array();
  for (const auto& s : envelope.signatures) {
    nlohmann::json one{{"sig", base64_encode(s.sig)}};
    if (!s.keyid.empty()) one["keyid"] = s.keyid;
    sigs.push_back(std::move(one));
  }
  return {{"payload", base64_encode(envelope.payload)}, {"payloadType", envelope.payload_type}, {"signatures", sigs}};
}

Result<DsseEnvelope> parse_dsse(const nlohmann::json& json) {
  auto bad = [](const std::string& why) { return fail(ErrorKind::invalid_input, "DSSE envelope: " + why); };
  if (!json.is_object()) return bad("not an object");
  if (!json.contains("payload") || !json["payload"].is_string()) return bad("no payload");
  if (!json.contains("payloadType") || !json["payloadType"].is_string()) return bad("no payloadType");
  if (!json.contains("signatures") || !json["signatures"].is_array()) return bad("no signatures");
  DsseEnvelope envelope;
  envelope.payload_type = json["payloadType"].get<std::string>();
  auto payload = base64_decode(json["payload"].get<std::string>());
  if (!payload) return bad("payload is not base64");
  envelope.payload = std::move(*payload);
  for (const auto& s : json["signatures"]) {
    if (!s.is_object() || !s.contains("sig") || !s["sig"].is_string()) return bad("a signature without `sig`");
    auto sig = base64_decode(s["sig"].get<std::string>());
    if (!sig) return bad("a signature that is not base64");
    std::string keyid = s.contains("keyid") && s["keyid"].is_string() ? s["keyid"].get<std::string>() : "";
    envelope.signatures.push_back(DsseSignature{std::move(keyid), std::move(*sig)});
  }
  return envelope;
}

}  // namespace sbpipe

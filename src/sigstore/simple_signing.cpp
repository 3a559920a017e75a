#include "sigstore/simple_signing.h"

#include <nlohmann/json.hpp>

namespace sbpipe {

std::string simple_signing_json(const SimpleSigningPayload& payload) {
  // nlohmann's object keeps keys sorted, as Go's encoding/json writes a map.
  nlohmann::json j{{"critical",
                    {{"identity", {{"docker-reference", payload.docker_reference}}},
                     {"image", {{"docker-manifest-digest", payload.manifest_digest}}},
                     {"type", cosign::k_signature_type}}},
                   {"optional", nullptr}};
  return j.dump();
}

Result<SimpleSigningPayload> parse_simple_signing(std::string_view json) {
  auto j = nlohmann::json::parse(json, nullptr, false);
  auto bad = [](const std::string& why) { return fail(ErrorKind::invalid_input, "simple-signing payload: " + why); };
  if (!j.is_object() || !j.contains("critical") || !j["critical"].is_object()) return bad("no `critical` object");
  const auto& critical = j["critical"];
  auto text = [&](const char* object, const char* key) -> const nlohmann::json* {
    if (!critical.contains(object) || !critical[object].is_object()) return nullptr;
    const auto& o = critical[object];
    if (!o.contains(key) || !o[key].is_string()) return nullptr;
    return &o[key];
  };
  if (!critical.contains("type") || !critical["type"].is_string() || critical["type"] != cosign::k_signature_type)
    return bad("type is not \"" + std::string(cosign::k_signature_type) + "\"");
  const auto* digest = text("image", "docker-manifest-digest");
  const auto* reference = text("identity", "docker-reference");
  if (digest == nullptr) return bad("no critical.image.docker-manifest-digest");
  if (reference == nullptr) return bad("no critical.identity.docker-reference");
  return SimpleSigningPayload{reference->get<std::string>(), digest->get<std::string>()};
}

std::string referrers_tag(std::string_view digest) {
  std::string tag(digest);
  if (auto colon = tag.find(':'); colon != std::string::npos) tag[colon] = '-';
  return tag;
}

std::string signature_tag(std::string_view digest) { return referrers_tag(digest) + ".sig"; }

}  // namespace sbpipe

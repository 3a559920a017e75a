#pragma once
// DSSE, the Dead Simple Signing Envelope (secure-systems-lab/dsse
// envelope.md, protocol.md): a payload, its type, and signatures over
// PAE(type, payload). sigstore bundles carry one as their `dsseEnvelope`
// (sigstore/protobuf-specs protos/envelope.proto).

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace sbpipe {

inline constexpr const char* k_intoto_payload_type = "application/vnd.in-toto+json";

struct DsseSignature {
  std::string keyid;  // may be empty
  std::string sig;    // raw bytes
};

struct DsseEnvelope {
  std::string payload_type;
  std::string payload;  // raw bytes
  std::vector<DsseSignature> signatures;
};

// "DSSEv1 <len(type)> <type> <len(body)> <body>": the bytes a DSSE signature signs.
std::string dsse_pae(std::string_view payload_type, std::string_view payload);

// The envelope as JSON (payload and sig base64), and back. invalid_input
// when a field is missing or not base64.
nlohmann::json dsse_json(const DsseEnvelope& envelope);
Result<DsseEnvelope> parse_dsse(const nlohmann::json& json);

}  // namespace sbpipe

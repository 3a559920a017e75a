#pragma once
// The sigstore bundle, v0.3 (sigstore/protobuf-specs protos/
// sigstore_bundle.proto, in its JSON form: camelCase names, bytes as
// base64): the signature, the material to verify it, and (keyless) the
// transparency-log entries. sbpipe writes bundles signed with the owner's
// key: verificationMaterial.publicKey.hint and no log entry, which is what
// cosign's key-based verification asks for (cosign pkg/cosign/verify.go,
// verificationOptions: a key needs no observer timestamp) and what Talos
// checks for a publicKey rule (IgnoreTlog). Two contents:
// - messageSignature: a file's SHA-256 and the signature over it (release
//   assets: `cosign sign-blob` and Image Factory's key signer,
//   internal/image/signer/key.go SignBlob, write the same);
// - dsseEnvelope: an in-toto statement about an image (cosign v3's
//   `sign --new-bundle-format`, and provenance).

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/hex.h"  // to_hex, from_hex: bundles carry digests as hex
#include "sigstore/dsse.h"
#include "sigstore/keys.h"

namespace sbpipe {

inline constexpr const char* k_bundle_v03_media_type = "application/vnd.dev.sigstore.bundle.v0.3+json";
// Every bundle media type starts so (Talos filters referrers and layers on it).
inline constexpr const char* k_bundle_media_type_prefix = "application/vnd.dev.sigstore.bundle";

struct MessageSignature {
  std::string sha256;     // the artifact's digest, raw bytes
  std::string signature;  // raw bytes
};

struct Bundle {
  std::string media_type = k_bundle_v03_media_type;
  // Verification material: a key hint, or (keyless) a certificate.
  std::optional<std::string> public_key_hint;
  std::optional<std::string> certificate_der;
  nlohmann::json tlog_entries = nlohmann::json::array();  // kept as read (keyless)
  nlohmann::json timestamp_data;                          // kept as read
  std::optional<MessageSignature> message;
  std::optional<DsseEnvelope> dsse;
};

std::string bundle_json(const Bundle& bundle);
// invalid_input naming what is missing or malformed; a bundle version
// before v0.1 or from v0.4 on is refused (sigstore-go pkg/bundle/bundle.go).
Result<Bundle> parse_bundle(std::string_view json);

// A bundle over an artifact known by its SHA-256 (32 raw bytes).
Result<Bundle> sign_artifact_digest(const SigningKey& key, std::string_view sha256);
// A bundle holding a DSSE envelope of `payload`, signed by `key`.
Result<Bundle> sign_dsse(const SigningKey& key, std::string_view payload_type, std::string_view payload);

// Checks a key-signed bundle against `key` and the artifact's SHA-256 (32
// raw bytes): a messageSignature must name that digest and its signature
// verify; a DSSE envelope must verify over PAE and hold an in-toto
// statement with a subject of that sha256. invalid_input saying which
// check failed.
Status verify_bundle_with_key(const Bundle& bundle, const PublicKey& key, std::string_view sha256);

}  // namespace sbpipe

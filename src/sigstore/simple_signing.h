#pragma once
// cosign's "simple signing" payload: what a legacy cosign image signature
// signs, stored as a layer of the `sha256-<hex>.sig` tag (media type
// application/vnd.dev.cosign.simplesigning.v1+json) with the base64
// signature in the layer annotation dev.cosignproject.cosign/signature.
// Format: sigstore/sigstore pkg/signature/payload/payload.go (Cosign,
// SimpleContainerImage); the strict reader containers/image
// signature/internal/sigstore_payload.go accepts exactly `critical`
// {identity, image, type} and `optional`.

#include <string>
#include <string_view>

#include "core/error.h"

namespace sbpipe {

namespace cosign {
inline constexpr const char* k_simple_signing_media_type = "application/vnd.dev.cosign.simplesigning.v1+json";
inline constexpr const char* k_signature_annotation = "dev.cosignproject.cosign/signature";
inline constexpr const char* k_certificate_annotation = "dev.sigstore.cosign/certificate";
inline constexpr const char* k_chain_annotation = "dev.sigstore.cosign/chain";
inline constexpr const char* k_bundle_annotation = "dev.sigstore.cosign/bundle";
inline constexpr const char* k_signature_type = "cosign container image signature";
}  // namespace cosign

struct SimpleSigningPayload {
  std::string docker_reference;  // REGISTRY/REPO (cosign writes no tag)
  std::string manifest_digest;   // "sha256:<hex>"
};

// The payload as cosign writes it (keys sorted, `optional` null): the same
// bytes for the same image, so a signature already pushed is recognised.
std::string simple_signing_json(const SimpleSigningPayload& payload);

// Parses a payload. invalid_input when it is not JSON, its type is not
// cosign's, or a field is missing or not a string.
Result<SimpleSigningPayload> parse_simple_signing(std::string_view json);

// The tag cosign stores the signatures of `digest` ("sha256:<hex>") under:
// "sha256-<hex>.sig"; and the OCI referrers tag schema's "sha256-<hex>",
// where bundles go on a registry without the referrers API.
std::string signature_tag(std::string_view digest);
std::string referrers_tag(std::string_view digest);

}  // namespace sbpipe

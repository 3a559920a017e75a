#pragma once
// The signatures attached to an image in its registry repository, in the
// places Talos's verifier looks, in its order (siderolabs/talos
// internal/pkg/containers/image/verify/internal/cosign/cosign.go,
// VerifyImage):
//   1. OCI referrers of the image's digest whose artifactType is a sigstore
//      bundle: a manifest with exactly one layer, the bundle JSON;
//   2. the tag sha256-<hex> (the OCI referrers tag schema): a manifest whose
//      bundle layers are bundles, or an index of such manifests;
//   3. the legacy cosign tag sha256-<hex>.sig: a manifest whose layers are
//      simple-signing payloads with the signature in an annotation.
// Talos stops at the first place that has any bundle: a failing bundle in 1
// or 2 is final, the .sig tag is then never read. So sbpipe writes only
// bundles that verify, and writes both forms: the bundle (as a referrer
// where the registry indexes subjects, else in the sha256-<hex> index) and
// the .sig layer, which containers/image (`use-sigstore-attachments`) and
// older cosign read.
//
// Registry is not thread-safe; neither are these calls.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "oci/manifest.h"
#include "oci/registry.h"
#include "sigstore/bundle.h"
#include "sigstore/keys.h"

namespace sbpipe {

struct AttachReport {
  bool legacy_added = false;   // a .sig layer was written (false: this key's was there)
  bool bundle_added = false;   // a bundle referrer was written (false: this key's was there)
  bool referrers_api = false;  // the registry indexed the referrer itself
};

// Attaches the owner's signatures to `subject`, an image or index already
// in `registry`'s repository, whose name (REGISTRY/REPO, cosign's
// docker-reference, without tag) is `name`. Each form is written only when
// no signature by `key` for this digest is there yet, so a re-run adds
// nothing; signatures by other keys are kept. Registry errors name the tag
// or digest.
Result<AttachReport> attach_image_signatures(Registry& registry, const std::string& name, const Descriptor& subject,
                                             const SigningKey& key);

// Attaches a signed in-toto statement about `subject` (e.g. provenance) as
// a bundle referrer, annotated with its predicate type; unchanged when an
// attestation with the same predicate type by the same key is there.
Result<AttachReport> attach_image_attestation(Registry& registry, const Descriptor& subject, const Bundle& bundle,
                                              const std::string& predicate_type, const PublicKey& key);

struct LegacySignature {
  std::string payload;           // the simple-signing JSON (the layer's bytes)
  std::string signature_base64;  // dev.cosignproject.cosign/signature
  std::string certificate_pem;   // dev.sigstore.cosign/certificate (keyless), else empty
  std::string chain_pem;         // dev.sigstore.cosign/chain
  std::string rekor_bundle;      // dev.sigstore.cosign/bundle (JSON), else empty
};

enum class SignatureSource { referrers, bundle_tag, legacy_tag, none };
std::string_view signature_source_name(SignatureSource source);  // "OCI referrer", "tag sha256-…", ...

struct FoundSignatures {
  SignatureSource source = SignatureSource::none;  // where Talos would stop
  std::vector<Result<Bundle>> bundles;             // from referrers or the bundle tag (each parsed, or why not)
  std::vector<LegacySignature> legacy;             // from the .sig tag
};

// Reads the signatures of `digest` from `registry` in Talos's order and
// stops where Talos stops. Manifests are read up to 128 KiB, bundles and
// payloads up to 1 MiB, 100 layers at most (Talos's own bounds). Registry
// errors other than 404 are returned.
Result<FoundSignatures> read_image_signatures(Registry& registry, const Digest& digest);

// Whether `found` holds a signature of `digest` by `key`, as Talos judges
// a publicKey rule: in the place it stopped, one bundle that verifies
// (verify_bundle_with_key), or one legacy layer whose signature verifies
// over its payload and whose payload names `digest`. The string says which
// one did; invalid_input says why none did.
Result<std::string> check_signatures_with_key(const FoundSignatures& found, const Digest& digest, const PublicKey& key);

// The judging loop both kinds of rule share: in the place Talos stopped,
// the first bundle `check_bundle` passes, else the first legacy layer
// `check_legacy` passes: "<kind>sigstore bundle in <place>" or
// "<kind>cosign signature in <place>" (kind: "a ", "a keyless "). Else
// invalid_input with the last reason, or that there was no signature.
Result<std::string> first_valid_signature(const FoundSignatures& found, const Digest& digest, std::string_view kind,
                                          const std::function<Status(const Bundle&)>& check_bundle,
                                          const std::function<Status(const LegacySignature&)>& check_legacy);

}  // namespace sbpipe

#pragma once
// The build's SLSA provenance (slsa.dev/spec/v1.0/provenance: an in-toto
// statement whose predicate is https://slsa.dev/provenance/v1), signed as a
// DSSE envelope in a sigstore bundle and attached to the installer as an
// OCI referrer (sigstore/image_signatures.h), as `cosign attest
// --new-bundle-format` attaches one. It records what the build consumed and
// what it trusted: the input images by digest (imager, base installer,
// extensions), the kernel arguments, the UKI signer's certificate and the
// PCR key by SHA-256, the release, and the sbpipe that built it.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "plan/plan.h"

namespace sbpipe {

inline constexpr const char* k_sbpipe_build_type = "https://github.com/sbpipe/sbpipe/talos-secureboot-build/v1";

struct ProvenanceFacts {
  std::string version;                   // the release tag
  std::string release;                   // the release (OWNER/NAME@TAG, or a URL)
  std::vector<PlanInput> inputs;         // pinned: REGISTRY/REPO[:TAG]@sha256:...
  std::vector<std::string> kernel_args;  // as imager got them (--extra-kernel-arg values)
  std::string uki_certificate_sha256;    // SHA-256 of the UKI signing certificate's DER
  std::string pcr_public_key_sha256;     // SHA-256 of the PCR public key's DER SubjectPublicKeyInfo
  std::string source_commit;             // the build repository's commit, when known
};

// The predicate. invalid_input when an input is not pinned to a digest (a
// provenance must name what was used, not what a tag pointed at).
Result<nlohmann::json> slsa_predicate(const ProvenanceFacts& facts);

// The facts a plan holds: the version, the inputs and the SecureBoot
// installer's kernel arguments (its --extra-kernel-arg values).
void add_plan_facts(const Plan& plan, ProvenanceFacts& facts);

}  // namespace sbpipe

#pragma once
// What a node owner adds to a Talos machine config so that nodes accept
// only installers signed with the owner's key: an ImageVerificationConfig
// document (Talos 1.13+; siderolabs/talos pkg/machinery/config/types/
// security/image_verification.go, v1alpha1) with one publicKey rule for the
// installer repository. Talos matches a rule's `image` glob against the
// image's registry and repository only (go-containerregistry's
// Repository.String(): docker.io is written index.docker.io), takes the
// first rule that matches, and reads `publicKey.certificate` with
// sigstore's UnmarshalPEMToPublicKey, so a PEM PUBLIC KEY belongs there.

#include <string>

namespace sbpipe {

// The document, YAML, ending with a newline. `repository` is
// REGISTRY/REPO; `public_key_pem` a PEM public key.
std::string image_verification_config(const std::string& repository, const std::string& public_key_pem);

// The release notes' paragraph around it: the signer's fingerprint and the
// document in a fenced block. Empty when `public_key_pem` is empty.
std::string image_verification_notes(const std::string& repository, const std::string& public_key_pem,
                                     const std::string& fingerprint);

}  // namespace sbpipe

#pragma once
// Checks the images a build feeds imager (the imager image, the base
// installer, every system extension), each pinned by digest, against the
// owner's rules (image_rules.h) before any pod that mounts the SecureBoot
// keys starts: `plan --pin-digests`, `run`, and so the Argo plan step.
// As on a Talos node, the first matching rule decides:
// - deny: refused; skip: allowed unchecked (said so);
// - publicKey: a signature by the key, found where Talos looks
//   (image_signatures.h), must verify for the image's digest;
// - keyless: a Fulcio certificate for the identity, chained to the trusted
//   root, with its transparency-log entry (keyless.h); the trusted root
//   file is read once per call, the first time a keyless rule matches (a
//   config error naming the file and field when it cannot be used).
// Unlike a node, sbpipe refuses the imager image when no rule matches: it
// is the image that receives the keys. Other inputs without a rule are
// allowed, as Talos allows them, and listed so.

#include <functional>
#include <string>
#include <vector>

#include "oci/pusher.h"
#include "oci/reference.h"
#include "sigstore/image_rules.h"

namespace sbpipe {

struct InputImage {
  std::string role;  // "imager image", "base installer image", "system extension"
  ImageRef ref;      // with a digest
};

struct InputVerdict {
  std::string role;
  std::string ref;
  std::string rule;     // the matching rule's label, or "no rule"
  std::string outcome;  // "verified: a sigstore bundle in ...", "skipped by rule", "no rule: allowed"
};

// A pull session for the image's repository.
using RegistryOpener = std::function<Result<RegistrySession>(const ImageRef&)>;

// Each input's verdict. invalid_input on the first refusal, naming the
// role, the image, the rule and why ("imager image R: rule 0 (P): ...").
// usage error for an input without a digest. Registry errors other than a
// missing signature are returned with the image named.
Result<std::vector<InputVerdict>> verify_input_images(const std::vector<InputImage>& inputs, const ImageVerificationRules& rules,
                                                      const RegistryOpener& open);

}  // namespace sbpipe

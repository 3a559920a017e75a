#pragma once
// Image verification rules with the field names and meaning of Talos's
// ImageVerificationConfig (siderolabs/talos pkg/machinery/config/types/
// security/image_verification.go; matching in pkg/machinery/resources/
// security/image_verification_rule.go), so that one rule set serves the
// build (`imager.image_verification` in sbpipe.yaml) and the nodes:
// - `image`: a glob over the image's registry and repository (never the
//   tag or digest), matched as github.com/ryanuber/go-glob does: `*` is the
//   only special character and matches any run of characters, `/` included;
// - the first rule whose glob matches decides: `deny`, `skip`, `keyless`
//   (an OIDC issuer and a subject or subject regex of a Fulcio certificate)
//   or `publicKey` (`certificate`: a PEM public key).
// Pure logic; the checks against a registry are in input_verification.h.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace sbpipe {

struct KeylessIdentity {
  std::string issuer;
  std::string subject;        // exact SAN, or
  std::string subject_regex;  // an unanchored search, as Go's regexp.MatchString
};

struct ImageRule {
  size_t index = 0;   // position in the list, from 0 (Talos's messages count so)
  std::string image;  // the glob
  bool skip = false;
  bool deny = false;
  std::optional<KeylessIdentity> keyless;
  std::optional<std::string> public_key_pem;  // publicKey.certificate
  // "rule 0 (ghcr.io/siderolabs/*)"
  std::string label() const;
};

struct ImageVerificationRules {
  bool configured = false;   // the section exists
  std::string trusted_root;  // a Sigstore trusted_root.json for keyless rules
  std::vector<ImageRule> rules;
};

// Parses the `image_verification` section (YAML text: {trusted_root, rules:
// [...]}) and checks each rule as Talos's Validate does (an image glob;
// skip and deny exclusive, and without verifiers; exactly one verifier
// otherwise; keyless needs an issuer and a subject or subjectRegex;
// publicKey a certificate), plus what sbpipe needs to use it: the key
// parses, the regex compiles, keyless rules have a trusted_root. config
// error naming `label`, `key` and the rule.
Result<ImageVerificationRules> parse_image_verification(std::string_view yaml, std::string_view key, std::string_view label);

// ryanuber/go-glob's Glob(pattern, subject).
bool glob_match(std::string_view pattern, std::string_view subject);

// The name rules are matched against for REGISTRY/REPO: go-containerregistry's
// Repository.String(), which writes Docker Hub as index.docker.io and its
// one-word repositories under library/.
std::string rule_subject(std::string_view registry, std::string_view repository);

// The first rule matching `subject` (rule_subject's), or nullptr.
const ImageRule* first_matching_rule(const ImageVerificationRules& rules, std::string_view subject);

}  // namespace sbpipe

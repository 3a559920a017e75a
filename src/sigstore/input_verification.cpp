#include "sigstore/input_verification.h"

#include <spdlog/spdlog.h>

#include "sigstore/image_signatures.h"
#include "sigstore/keyless.h"
#include "sigstore/keys.h"
#include "sigstore/trusted_root.h"

namespace sbpipe {
namespace {

// The trusted root, read the first time a keyless rule needs it (once per call).
class TrustedRootOnce {
public:
  explicit TrustedRootOnce(const std::string& path) : m_path(path) {}
  Result<const TrustedRoot*> get() {
    if (!m_root) {
      auto root = load_trusted_root(m_path);
      if (!root) return fail(root.error());
      m_root = std::move(*root);
    }
    return &*m_root;
  }

private:
  std::string m_path;
  std::optional<TrustedRoot> m_root;
};

Result<std::string> check_one(const InputImage& input, const ImageRule& rule, TrustedRootOnce& trusted_root,
                              const RegistryOpener& open) {
  auto digest = Digest::parse(input.ref.digest);
  if (!digest) return fail(digest.error());
  std::optional<PublicKey> key;
  const TrustedRoot* root = nullptr;
  if (rule.keyless) {
    auto loaded = trusted_root.get();
    if (!loaded) return fail(loaded.error());
    root = *loaded;
  } else {
    auto parsed = PublicKey::parse_pem(*rule.public_key_pem, rule.label() + " publicKey.certificate");
    if (!parsed) return fail(parsed.error());
    key = std::move(*parsed);
  }
  auto session = open(input.ref);
  if (!session) return fail(session.error());
  auto found = read_image_signatures(*session->registry, *digest);
  if (!found) return fail(found.error());
  if (root != nullptr) return check_signatures_keyless(*found, *digest, *rule.keyless, *root);
  return check_signatures_with_key(*found, *digest, *key);
}

}  // namespace

Result<std::vector<InputVerdict>> verify_input_images(const std::vector<InputImage>& inputs, const ImageVerificationRules& rules,
                                                      const RegistryOpener& open) {
  std::vector<InputVerdict> verdicts;
  TrustedRootOnce trusted_root(rules.trusted_root);
  for (const auto& input : inputs) {
    std::string ref = input.ref.str();
    if (input.ref.digest.empty())
      return fail(ErrorKind::usage, input.role + " " + ref + ": not pinned to a digest, so its signature cannot be checked");
    std::string subject = rule_subject(input.ref.registry, input.ref.repository);
    const ImageRule* rule = first_matching_rule(rules, subject);
    InputVerdict verdict{input.role, ref, rule ? rule->label() : "no rule", ""};
    if (rule == nullptr) {
      if (input.role == "imager image")
        return fail(ErrorKind::invalid_input,
                    input.role + " " + ref + ": no rule of imager.image_verification matches " + subject +
                        "; the imager image receives the SecureBoot keys, so sbpipe runs it only when a rule says how to "
                        "check it (publicKey or keyless; `skip: true` to run it unchecked)");
      verdict.outcome = "no rule: allowed unchecked";
      spdlog::warn("{} {}: no image verification rule matches {}; allowed unchecked", input.role, ref, subject);
    } else if (rule->deny) {
      return fail(ErrorKind::invalid_input, input.role + " " + ref + ": " + rule->label() + " denies it");
    } else if (rule->skip) {
      verdict.outcome = "skipped by the rule";
      spdlog::warn("{} {}: not verified ({} says skip)", input.role, ref, rule->label());
    } else {
      auto checked = check_one(input, *rule, trusted_root, open);
      if (!checked) {
        std::string why = checked.error().message();
        if (checked.error().kind() != ErrorKind::invalid_input)
          return fail(checked.error().kind(), input.role + " " + ref + ": " + rule->label() + ": " + why);
        return fail(ErrorKind::invalid_input, input.role + " " + ref + ": " + rule->label() + ": signature check failed: " + why);
      }
      verdict.outcome = "verified: " + *checked;
      spdlog::info("{} {}: {} ({})", input.role, ref, verdict.outcome, rule->label());
    }
    verdicts.push_back(std::move(verdict));
  }
  return verdicts;
}

}  // namespace sbpipe

// The `image_verification` section's reader (see image_rules.h).

#include <algorithm>
#include <regex>

#include "core/config_file.h"
#include "sigstore/image_rules.h"
#include "sigstore/keys.h"

namespace sbpipe {
namespace {

Status only_keys(const YAML::Node& node, const std::string& where, std::initializer_list<std::string_view> allowed,
                 std::string_view label) {
  if (!node.IsMap()) return config_error(label, where + " must be a mapping");
  for (const auto& item : node) {
    auto name = item.first.as<std::string>();
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end())
      return config_error(label, "unknown key " + where + "." + name);
  }
  return {};
}

Result<ImageRule> read_rule(const YAML::Node& node, size_t index, const std::string& where, std::string_view label) {
  if (auto st = only_keys(node, where, {"image", "skip", "deny", "keyless", "publicKey"}, label); !st) return fail(st.error());
  ImageRule rule;
  rule.index = index;
  if (node["image"])
    if (auto st = read_config_string(node["image"], where + ".image", rule.image, label); !st) return fail(st.error());
  if (node["skip"])
    if (auto st = read_config_bool(node["skip"], where + ".skip", rule.skip, label); !st) return fail(st.error());
  if (node["deny"])
    if (auto st = read_config_bool(node["deny"], where + ".deny", rule.deny, label); !st) return fail(st.error());
  if (const auto& k = node["keyless"]) {
    if (auto st = only_keys(k, where + ".keyless", {"issuer", "subject", "subjectRegex"}, label); !st) return fail(st.error());
    KeylessIdentity id;
    for (auto [field, out] : {std::pair{"issuer", &id.issuer}, {"subject", &id.subject}, {"subjectRegex", &id.subject_regex}})
      if (k[field])
        if (auto st = read_config_string(k[field], where + ".keyless." + field, *out, label); !st) return fail(st.error());
    rule.keyless = id;
  }
  if (const auto& p = node["publicKey"]) {
    if (auto st = only_keys(p, where + ".publicKey", {"certificate"}, label); !st) return fail(st.error());
    std::string pem;
    if (p["certificate"])
      if (auto st = read_config_string(p["certificate"], where + ".publicKey.certificate", pem, label); !st)
        return fail(st.error());
    rule.public_key_pem = pem;
  }
  // Talos's Validate(), then what sbpipe needs.
  auto bad = [&](const std::string& why) { return config_error(label, where + ": " + why); };
  if (rule.image.empty()) return bad("image must be specified");
  if (rule.image.find('@') != std::string::npos ||
      rule.image.find(':', rule.image.find('/') == std::string::npos ? rule.image.size() : rule.image.find('/')) !=
          std::string::npos)
    return bad("image '" + rule.image + "' names a tag or digest; rules match only the registry and repository");
  bool verifiers = rule.keyless || rule.public_key_pem;
  if (rule.skip && rule.deny) return bad("skip and deny cannot both be true");
  if ((rule.skip || rule.deny) && verifiers) return bad("verifiers cannot be configured if skip or deny is true");
  if (!rule.skip && !rule.deny && !verifiers) return bad("at least one verifier (keyless or publicKey), skip or deny is needed");
  if (rule.keyless && rule.public_key_pem) return bad("only one of keyless or publicKey can be configured");
  if (rule.keyless) {
    if (rule.keyless->issuer.empty()) return bad("keyless.issuer must be specified");
    if (rule.keyless->subject.empty() && rule.keyless->subject_regex.empty())
      return bad("keyless.subject or keyless.subjectRegex must be specified");
    if (!rule.keyless->subject_regex.empty()) {
      try {
        std::regex check(rule.keyless->subject_regex, std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        return bad("keyless.subjectRegex is not a valid regular expression (" + std::string(e.what()) + ")");
      }
    }
  }
  if (rule.public_key_pem) {
    if (rule.public_key_pem->empty()) return bad("publicKey.certificate must be specified");
    if (auto key = PublicKey::parse_pem(*rule.public_key_pem, where + ".publicKey.certificate"); !key)
      return config_error(label, key.error().message());
  }
  return rule;
}

}  // namespace

Result<ImageVerificationRules> parse_image_verification(std::string_view yaml, std::string_view key, std::string_view label) {
  YAML::Node node;
  try {
    node = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return config_error(label, std::string(key) + ": " + e.what());
  }
  ImageVerificationRules out;
  out.configured = true;
  if (node.IsNull()) return out;
  if (auto st = only_keys(node, std::string(key), {"trusted_root", "rules"}, label); !st) return fail(st.error());
  if (node["trusted_root"])
    if (auto st = read_config_string(node["trusted_root"], std::string(key) + ".trusted_root", out.trusted_root, label); !st)
      return fail(st.error());
  if (const auto& rules = node["rules"]) {
    if (!rules.IsSequence()) return config_error(label, std::string(key) + ".rules must be a list");
    for (size_t i = 0; i < rules.size(); ++i) {
      auto rule = read_rule(rules[i], i, std::string(key) + ".rules[" + std::to_string(i) + "]", label);
      if (!rule) return fail(rule.error());
      if (rule->keyless && out.trusted_root.empty())
        return config_error(label, std::string(key) + ".rules[" + std::to_string(i) + "]: a keyless rule needs " +
                                       std::string(key) +
                                       ".trusted_root (a Sigstore trusted_root.json; sbpipe does not reach the network for it)");
      out.rules.push_back(std::move(*rule));
    }
  }
  return out;
}

}  // namespace sbpipe

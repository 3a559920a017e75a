#include "sigstore/keyless.h"

#include <functional>
#include <regex>

#include "core/base64.h"
#include "core/hex.h"
#include "core/sha256.h"
#include "sigstore/simple_signing.h"
#include "sigstore/tlog_entry.h"

namespace sbpipe {
namespace {

std::unexpected<Error> refuse(const std::string& why) { return fail(ErrorKind::invalid_input, why); }

// What one signature claims, from a bundle or a legacy layer.
struct Claim {
  std::string leaf_der;
  std::vector<TlogEntry> entries;
  std::string log_kind;     // the body kind its entry must have
  std::string signature;    // raw
  std::string logged_hash;  // what the entry's body digest must be (raw SHA-256)
  std::function<Status(const PublicKey&)> verify_signature;
};

// Step 1: the integrated time of the first entry that verifies.
Result<int64_t> verified_log_time(const Claim& claim, const Certificate& leaf, const TrustedRoot& root) {
  if (claim.entries.empty())
    return refuse(
        "no transparency-log entry comes with the signature (sbpipe checks offline: the entry must be in the bundle "
        "or the dev.sigstore.cosign/bundle annotation)");
  std::string last;
  for (size_t i = 0; i < claim.entries.size(); ++i) {
    const auto& entry = claim.entries[i];
    const TransparencyLog* log = root.log(entry.log_id);
    if (log == nullptr) {
      last = "its log " + to_hex(entry.log_id).substr(0, 16) + " is not in the trusted root";
      continue;
    }
    if (auto st = verify_signed_entry_timestamp(entry, *log); !st) {
      last = st.error().message();
      continue;
    }
    if (entry.inclusion_proof)
      if (auto st = verify_inclusion_proof(entry, *log); !st) return fail(st.error());
    auto logged = read_entry_body(entry);
    if (!logged) return fail(logged.error());
    if (logged->kind != claim.log_kind)
      return refuse("transparency-log entry: a " + logged->kind + " entry, where this signature is logged as " + claim.log_kind);
    if (logged->signature != claim.signature) return refuse("transparency-log entry: it logs another signature");
    auto logged_cert = Certificate::parse_pem(logged->verifier, "the logged certificate");
    if (!logged_cert || logged_cert->der() != leaf.der()) return refuse("transparency-log entry: it logs another certificate");
    if (logged->sha256 != claim.logged_hash)
      return refuse("transparency-log entry: it logs sha256:" + to_hex(logged->sha256) +
                    ", the signature is over sha256:" + to_hex(claim.logged_hash));
    if (entry.integrated_time < leaf.not_before() || entry.integrated_time > leaf.not_after())
      return refuse("the entry's integrated time " + unix_time_text(entry.integrated_time) +
                    " is outside the certificate's validity (" + unix_time_text(leaf.not_before()) + " to " +
                    unix_time_text(leaf.not_after()) + ")");
    return entry.integrated_time;
  }
  return refuse("no transparency-log entry verifies: " + last);
}

// Step 2: the leaf's issuer on its path to a CA.
Result<Certificate> verify_path(const Certificate& leaf, const TrustedRoot& root, int64_t at) {
  std::string last;
  for (const auto& ca : root.certificate_authorities) {
    if (!ca.valid_for.contains(at)) continue;
    auto issuer = verify_code_signing_path(leaf, ca.chain, at);
    if (issuer) return issuer;
    last = issuer.error().message();
  }
  if (last.empty()) return refuse("no certificate authority of the trusted root is valid at " + unix_time_text(at));
  return refuse(last);
}

// Step 2, continued: one SCT from a CT log of the trusted root, valid at its
// time, verifies (sigstore-go pkg/verify/sct.go, threshold 1 as cosign asks).
Status verify_scts(const Certificate& leaf, const Certificate& issuer, const TrustedRoot& root) {
  auto scts = embedded_scts(leaf, issuer);
  if (!scts) return fail(scts.error());
  if (scts->empty()) return refuse("the certificate carries no signed certificate timestamp (SCT) of a CT log");
  std::string last = "no SCT is from a CT log of the trusted root";
  for (const auto& sct : *scts) {
    const TransparencyLog* log = root.ctlog(sct.log_id);
    if (log == nullptr) continue;
    if (!log->valid_for.contains(sct.timestamp_ms / 1000)) {
      last = "the SCT's CT log key is not valid at " + unix_time_text(sct.timestamp_ms / 1000);
      continue;
    }
    if (log->key.verify(sct.signed_data, sct.signature)) return {};
    last = "the SCT does not verify with its CT log's key";
  }
  return refuse("no signed certificate timestamp verifies: " + last);
}

// Step 4 (cosign CheckCertificatePolicy with one Identity).
Status verify_identity(const Certificate& leaf, const KeylessIdentity& identity) {
  std::string issuer = leaf.oidc_issuer();
  if (issuer != identity.issuer)
    return refuse("the certificate's OIDC issuer is " + (issuer.empty() ? std::string("(none)") : issuer) + ", the rule wants " +
                  identity.issuer);
  auto sans = leaf.subject_alternative_names();
  for (const auto& san : sans) {
    if (!identity.subject_regex.empty()) {
      try {
        if (std::regex_search(san, std::regex(identity.subject_regex, std::regex::ECMAScript))) return {};
      } catch (const std::regex_error& e) {
        return refuse("subjectRegex " + identity.subject_regex + " cannot be matched (" + e.what() + ")");
      }
    } else if (san == identity.subject) {
      return {};
    }
  }
  std::string names;
  for (const auto& san : sans) names += (names.empty() ? "" : ", ") + san;
  return refuse("the certificate's subject [" + names + "] does not match " +
                (identity.subject_regex.empty() ? "subject " + identity.subject : "subjectRegex " + identity.subject_regex));
}

Status verify_claim(const Claim& claim, const KeylessIdentity& identity, const TrustedRoot& root) {
  auto leaf = Certificate::parse_der(claim.leaf_der, "the signing certificate");
  if (!leaf) return fail(leaf.error());
  auto time = verified_log_time(claim, *leaf, root);
  if (!time) return fail(time.error());
  auto issuer = verify_path(*leaf, root, *time);
  if (!issuer) return fail(issuer.error());
  if (auto st = verify_scts(*leaf, *issuer, root); !st) return st;
  auto key = leaf->public_key();
  if (!key) return fail(key.error());
  if (auto st = claim.verify_signature(*key); !st) return st;
  return verify_identity(*leaf, identity);
}

Result<Claim> bundle_claim(const Bundle& bundle, const std::string& image_sha256) {
  if (!bundle.certificate_der) return refuse("the bundle is signed with a key, not a Fulcio certificate");
  Claim claim;
  claim.leaf_der = *bundle.certificate_der;
  for (const auto& j : bundle.tlog_entries) {
    auto entry = parse_tlog_entry(j);
    if (!entry) return fail(entry.error());
    claim.entries.push_back(std::move(*entry));
  }
  if (bundle.message) {
    claim.log_kind = "hashedrekord";
    claim.signature = bundle.message->signature;
    claim.logged_hash = bundle.message->sha256;
  } else if (bundle.dsse && !bundle.dsse->signatures.empty()) {
    claim.log_kind = "dsse";
    claim.signature = bundle.dsse->signatures[0].sig;
    claim.logged_hash = Sha256::bytes_of(bundle.dsse->payload);
  } else {
    return refuse("sigstore bundle: no content");
  }
  claim.verify_signature = [&bundle, image_sha256](const PublicKey& key) {
    return verify_bundle_with_key(bundle, key, image_sha256);
  };
  return claim;
}

Result<Claim> legacy_claim(const LegacySignature& sig, const Digest& digest) {
  if (sig.certificate_pem.empty()) return refuse("the cosign signature has no certificate (dev.sigstore.cosign/certificate)");
  auto leaf = Certificate::parse_pem(sig.certificate_pem, "the dev.sigstore.cosign/certificate annotation");
  if (!leaf) return fail(leaf.error());
  auto raw = base64_decode(sig.signature_base64);
  if (!raw) return refuse("the cosign signature annotation is not base64");
  Claim claim;
  claim.leaf_der = leaf->der();
  if (!sig.rekor_bundle.empty()) {
    auto entry = parse_cosign_rekor_bundle(sig.rekor_bundle);
    if (!entry) return fail(entry.error());
    claim.entries.push_back(std::move(*entry));
  }
  claim.log_kind = "hashedrekord";
  claim.signature = *raw;
  claim.logged_hash = Sha256::bytes_of(sig.payload);
  claim.verify_signature = [&sig, digest, signature = *raw](const PublicKey& key) -> Status {
    if (!key.verify(sig.payload, signature)) return refuse("the cosign signature does not verify with the certificate's key");
    auto payload = parse_simple_signing(sig.payload);
    if (!payload) return fail(payload.error());
    if (payload->manifest_digest != digest.str()) return refuse("the cosign signature is for " + payload->manifest_digest);
    return {};
  };
  return claim;
}

}  // namespace

Result<std::string> check_signatures_keyless(const FoundSignatures& found, const Digest& digest, const KeylessIdentity& identity,
                                             const TrustedRoot& root) {
  std::string sha256 = *from_hex(digest.hex);
  return first_valid_signature(
      found, digest, "a keyless ",
      [&](const Bundle& bundle) -> Status {
        auto claim = bundle_claim(bundle, sha256);
        if (!claim) return fail(claim.error());
        return verify_claim(*claim, identity, root);
      },
      [&](const LegacySignature& sig) -> Status {
        auto claim = legacy_claim(sig, digest);
        if (!claim) return fail(claim.error());
        return verify_claim(*claim, identity, root);
      });
}

}  // namespace sbpipe

#include "sigstore/image_signatures.h"

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "core/base64.h"
#include "core/stream.h"
#include "sigstore/intoto.h"
#include "sigstore/simple_signing.h"

namespace sbpipe {
namespace {

// Talos's bounds (cosign.go: maxManifestSize, maxBundleSize, maxLayers).
constexpr size_t k_max_manifest = 128 * 1024;
constexpr size_t k_max_bundle = 1024 * 1024;
constexpr size_t k_max_layers = 100;

constexpr const char* k_empty_config_media_type = "application/vnd.oci.empty.v1+json";
constexpr const char* k_bundle_content_annotation = "dev.sigstore.bundle.content";
constexpr const char* k_bundle_predicate_annotation = "dev.sigstore.bundle.predicateType";

nlohmann::json descriptor_json(const Descriptor& d) {
  return {{"mediaType", d.media_type}, {"digest", d.digest.str()}, {"size", d.size}};
}

Status ensure_blob(Registry& registry, const std::string& bytes) {
  Digest digest = Digest::of(bytes);
  auto present = registry.has_blob(digest);
  if (!present) return fail(present.error());
  if (*present) return {};
  MemorySource body(bytes);
  return registry.upload_blob(digest, bytes.size(), body);
}

Result<std::string> fetch_blob(Registry& registry, const Digest& digest, size_t limit) {
  std::string out;
  auto st = registry.get_blob(digest, [&](std::span<const char> chunk) -> Status {
    if (out.size() + chunk.size() > limit)
      return fail(ErrorKind::invalid_input, "blob " + digest.short_str() + " is larger than " + std::to_string(limit) + " bytes");
    out.append(chunk.data(), chunk.size());
    return {};
  });
  if (!st) return fail(st.error());
  return out;
}

// A manifest document as JSON, refusing one larger than Talos reads.
Result<std::optional<nlohmann::json>> fetch_manifest_json(Registry& registry, const std::string& reference) {
  auto fetched = registry.get_manifest(reference);
  if (!fetched) return fail(fetched.error());
  if (!*fetched) return std::optional<nlohmann::json>();
  if ((*fetched)->body.size() > k_max_manifest)
    return fail(ErrorKind::invalid_input,
                "manifest " + reference + " is larger than " + std::to_string(k_max_manifest) + " bytes");
  auto j = nlohmann::json::parse((*fetched)->body, nullptr, false);
  if (!j.is_object()) return fail(ErrorKind::invalid_input, "manifest " + reference + " is not a JSON object");
  return std::optional<nlohmann::json>(std::move(j));
}

std::vector<nlohmann::json> list_of(const nlohmann::json& doc, const char* key) {
  std::vector<nlohmann::json> out;
  if (doc.contains(key) && doc[key].is_array())
    for (const auto& item : doc[key]) {
      if (out.size() == k_max_layers) break;
      if (item.is_object()) out.push_back(item);
    }
  return out;
}

std::string string_of(const nlohmann::json& object, const char* key) {
  return object.is_object() && object.contains(key) && object[key].is_string() ? object[key].get<std::string>() : "";
}

bool is_bundle_type(const std::string& media_type) { return media_type.starts_with(k_bundle_media_type_prefix); }

// The bundles of one referrer manifest (exactly one bundle layer, as Talos
// requires of referrers) or of the bundle tag's manifest (its bundle layers).
void collect_bundles(Registry& registry, const nlohmann::json& manifest, bool exactly_one, std::vector<Result<Bundle>>& out) {
  auto layers = list_of(manifest, "layers");
  if (exactly_one && layers.size() != 1) {
    out.push_back(fail(ErrorKind::invalid_input, "a bundle referrer with " + std::to_string(layers.size()) + " layers"));
    return;
  }
  for (const auto& layer : layers) {
    if (!exactly_one && !is_bundle_type(string_of(layer, "mediaType"))) continue;
    auto digest = Digest::parse(string_of(layer, "digest"));
    if (!digest) {
      out.push_back(fail(digest.error()));
      continue;
    }
    auto bytes = fetch_blob(registry, *digest, k_max_bundle);
    if (!bytes) {
      out.push_back(fail(bytes.error()));
      continue;
    }
    out.push_back(parse_bundle(*bytes));
  }
}

std::string sig_config_json(const std::vector<nlohmann::json>& layers) {
  // The config cosign writes for its signature images (go-containerregistry
  // empty.Image plus one layer per signature).
  nlohmann::json diff_ids = nlohmann::json::array();
  nlohmann::json history = nlohmann::json::array();
  for (const auto& layer : layers) {
    diff_ids.push_back(layer["digest"]);
    history.push_back({{"created", "0001-01-01T00:00:00Z"}});
  }
  return nlohmann::json{{"architecture", ""},
                        {"config", nlohmann::json::object()},
                        {"created", "0001-01-01T00:00:00Z"},
                        {"history", history},
                        {"os", ""},
                        {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}}
      .dump();
}

Result<bool> attach_legacy(Registry& registry, const std::string& name, const Descriptor& subject, const SigningKey& key) {
  std::string payload = simple_signing_json(SimpleSigningPayload{name, subject.digest.str()});
  Digest payload_digest = Digest::of(payload);
  std::string tag = signature_tag(subject.digest.str());
  auto existing = fetch_manifest_json(registry, tag);
  if (!existing) return fail(existing.error().with_context("reading " + tag));
  std::vector<nlohmann::json> layers;
  if (*existing) layers = list_of(**existing, "layers");
  for (const auto& layer : layers) {
    if (string_of(layer, "digest") != payload_digest.str()) continue;
    auto signature =
        base64_decode(string_of(layer.value("annotations", nlohmann::json::object()), cosign::k_signature_annotation));
    if (signature && key.public_key().verify(payload, *signature)) return false;
  }
  auto signature = key.sign(payload);
  if (!signature) return fail(signature.error());
  if (auto st = ensure_blob(registry, payload); !st) return fail(st.error().with_context("signature payload"));
  nlohmann::json layer{{"mediaType", cosign::k_simple_signing_media_type},
                       {"digest", payload_digest.str()},
                       {"size", payload.size()},
                       {"annotations", {{cosign::k_signature_annotation, base64_encode(*signature)}}}};
  layers.push_back(std::move(layer));
  std::string config = sig_config_json(layers);
  if (auto st = ensure_blob(registry, config); !st) return fail(st.error().with_context("signature config"));
  nlohmann::json manifest{{"schemaVersion", 2},
                          {"mediaType", media_type::oci_manifest},
                          {"config", descriptor_json(Descriptor{media_type::oci_config, Digest::of(config), config.size(), {}})},
                          {"layers", layers}};
  if (auto st = registry.put_manifest(tag, media_type::oci_manifest, manifest.dump()); !st) return fail(st.error());
  return true;
}

// Whether a bundle by `key` with predicate type `predicate` already refers to `subject`.
Result<bool> has_own_bundle(Registry& registry, const Descriptor& subject, const PublicKey& key, const std::string& predicate) {
  auto found = read_image_signatures(registry, subject.digest);
  if (!found) return fail(found.error());
  std::string sha256 = *from_hex(subject.digest.hex);
  for (const auto& bundle : found->bundles) {
    if (!bundle || !bundle->dsse || !verify_bundle_with_key(*bundle, key, sha256)) continue;
    auto statement = parse_statement(bundle->dsse->payload);
    if (statement && statement->predicate_type == predicate) return true;
  }
  return false;
}

Result<AttachReport> attach_bundle(Registry& registry, const Descriptor& subject, const Bundle& bundle,
                                   const std::string& predicate) {
  AttachReport report;
  std::string bundle_bytes = bundle_json(bundle);
  std::string empty = "{}";
  if (auto st = ensure_blob(registry, bundle_bytes); !st) return fail(st.error().with_context("bundle"));
  if (auto st = ensure_blob(registry, empty); !st) return fail(st.error().with_context("empty config"));
  nlohmann::json annotations{{k_bundle_content_annotation, bundle.dsse ? "dsse-envelope" : "message-signature"},
                             {k_bundle_predicate_annotation, predicate}};
  nlohmann::json manifest{
      {"schemaVersion", 2},
      {"mediaType", media_type::oci_manifest},
      {"artifactType", k_bundle_v03_media_type},
      {"config", descriptor_json(Descriptor{k_empty_config_media_type, Digest::of(empty), empty.size(), {}})},
      {"layers", {descriptor_json(Descriptor{k_bundle_v03_media_type, Digest::of(bundle_bytes), bundle_bytes.size(), {}})}},
      {"subject", descriptor_json(subject)},
      {"annotations", annotations}};
  std::string body = manifest.dump();
  auto indexed = registry.put_referrer_manifest(media_type::oci_manifest, body, subject.digest);
  if (!indexed) return fail(indexed.error());
  report.bundle_added = true;
  report.referrers_api = *indexed;
  if (*indexed) return report;
  // No referrers API: keep the referrers tag schema's index (distribution-
  // spec 1.1), which Talos reads as its "bundle tag".
  std::string tag = referrers_tag(subject.digest.str());
  auto existing = fetch_manifest_json(registry, tag);
  if (!existing) return fail(existing.error().with_context("reading " + tag));
  nlohmann::json entries = nlohmann::json::array();
  if (*existing && string_of(**existing, "mediaType") == media_type::oci_index)
    for (const auto& entry : list_of(**existing, "manifests")) entries.push_back(entry);
  nlohmann::json entry = descriptor_json(Descriptor{media_type::oci_manifest, Digest::of(body), body.size(), {}});
  entry["artifactType"] = k_bundle_v03_media_type;
  entry["annotations"] = annotations;
  entries.push_back(std::move(entry));
  nlohmann::json index{{"schemaVersion", 2}, {"mediaType", media_type::oci_index}, {"manifests", entries}};
  if (auto st = registry.put_manifest(tag, media_type::oci_index, index.dump()); !st) return fail(st.error());
  return report;
}

}  // namespace

std::string_view signature_source_name(SignatureSource source) {
  switch (source) {
  case SignatureSource::referrers: return "OCI referrers";
  case SignatureSource::bundle_tag: return "the bundle tag sha256-<hex>";
  case SignatureSource::legacy_tag: return "the cosign tag sha256-<hex>.sig";
  case SignatureSource::none: return "nowhere";
  }
  return "nowhere";
}

Result<AttachReport> attach_image_signatures(Registry& registry, const std::string& name, const Descriptor& subject,
                                             const SigningKey& key) {
  AttachReport report;
  auto legacy = attach_legacy(registry, name, subject, key);
  if (!legacy) return fail(legacy.error());
  report.legacy_added = *legacy;
  auto present = has_own_bundle(registry, subject, key.public_key(), k_cosign_sign_predicate);
  if (!present) return fail(present.error());
  if (!*present) {
    std::string statement =
        statement_json({StatementSubject{"", subject.digest.hex}}, k_cosign_sign_predicate, nlohmann::json::object());
    auto bundle = sign_dsse(key, k_intoto_payload_type, statement);
    if (!bundle) return fail(bundle.error());
    auto attached = attach_bundle(registry, subject, *bundle, k_cosign_sign_predicate);
    if (!attached) return fail(attached.error());
    report.bundle_added = true;
    report.referrers_api = attached->referrers_api;
  }
  spdlog::info("signatures of {}: cosign .sig {}, sigstore bundle {}", subject.digest.short_str(),
               report.legacy_added ? "added" : "already there", report.bundle_added ? "added" : "already there");
  return report;
}

Result<AttachReport> attach_image_attestation(Registry& registry, const Descriptor& subject, const Bundle& bundle,
                                              const std::string& predicate_type, const PublicKey& key) {
  auto present = has_own_bundle(registry, subject, key, predicate_type);
  if (!present) return fail(present.error());
  if (*present) return AttachReport{};
  return attach_bundle(registry, subject, bundle, predicate_type);
}

Result<FoundSignatures> read_image_signatures(Registry& registry, const Digest& digest) {
  FoundSignatures found;
  // 1. Referrers whose artifactType is a bundle.
  auto referrers = registry.get_referrers(digest, k_bundle_v03_media_type);
  if (!referrers) return fail(referrers.error());
  if (*referrers) {
    auto index = nlohmann::json::parse(**referrers, nullptr, false);
    for (const auto& entry : list_of(index, "manifests")) {
      if (!is_bundle_type(string_of(entry, "artifactType"))) continue;
      auto manifest = fetch_manifest_json(registry, string_of(entry, "digest"));
      if (!manifest) {
        found.bundles.push_back(fail(manifest.error()));
      } else if (*manifest) {
        collect_bundles(registry, **manifest, true, found.bundles);
      }
    }
    if (!found.bundles.empty()) {
      found.source = SignatureSource::referrers;
      return found;
    }
  }
  // 2. The bundle tag: a manifest with bundle layers, or an index of them.
  std::string tag = referrers_tag(digest.str());
  auto tagged = fetch_manifest_json(registry, tag);
  if (!tagged) return fail(tagged.error());
  if (*tagged) {
    std::string media = string_of(**tagged, "mediaType");
    if (media == media_type::oci_manifest) {
      collect_bundles(registry, **tagged, false, found.bundles);
    } else if (media == media_type::oci_index) {
      for (const auto& entry : list_of(**tagged, "manifests")) {
        if (string_of(entry, "mediaType") != media_type::oci_manifest) continue;
        auto manifest = fetch_manifest_json(registry, string_of(entry, "digest"));
        if (manifest && *manifest) collect_bundles(registry, **manifest, false, found.bundles);
      }
    }
    if (!found.bundles.empty()) {
      found.source = SignatureSource::bundle_tag;
      return found;
    }
  }
  // 3. The legacy .sig tag.
  auto legacy = fetch_manifest_json(registry, signature_tag(digest.str()));
  if (!legacy) return fail(legacy.error());
  if (!*legacy || string_of(**legacy, "mediaType") != media_type::oci_manifest) return found;
  for (const auto& layer : list_of(**legacy, "layers")) {
    auto layer_digest = Digest::parse(string_of(layer, "digest"));
    if (!layer_digest) continue;
    auto payload = fetch_blob(registry, *layer_digest, k_max_bundle);
    if (!payload) continue;
    nlohmann::json annotations = layer.value("annotations", nlohmann::json::object());
    found.legacy.push_back(LegacySignature{*payload, string_of(annotations, cosign::k_signature_annotation),
                                           string_of(annotations, cosign::k_certificate_annotation),
                                           string_of(annotations, cosign::k_chain_annotation),
                                           string_of(annotations, cosign::k_bundle_annotation)});
  }
  if (!found.legacy.empty()) found.source = SignatureSource::legacy_tag;
  return found;
}

Result<std::string> first_valid_signature(const FoundSignatures& found, const Digest& digest, std::string_view kind,
                                          const std::function<Status(const Bundle&)>& check_bundle,
                                          const std::function<Status(const LegacySignature&)>& check_legacy) {
  std::string where(signature_source_name(found.source));
  std::string last = "no signature found (no bundle referrer, no tag " + referrers_tag(digest.str()) + ", no tag " +
                     signature_tag(digest.str()) + ")";
  for (const auto& bundle : found.bundles) {
    auto st = bundle ? check_bundle(*bundle) : Status(fail(bundle.error()));
    if (st) return std::string(kind) + "sigstore bundle in " + where;
    last = st.error().message();
  }
  for (const auto& sig : found.legacy) {
    auto st = check_legacy(sig);
    if (st) return std::string(kind) + "cosign signature in " + where;
    last = st.error().message();
  }
  if (found.source != SignatureSource::none) last += " (Talos stops at " + where + ")";
  return fail(ErrorKind::invalid_input, last);
}

Result<std::string> check_signatures_with_key(const FoundSignatures& found, const Digest& digest, const PublicKey& key) {
  std::string sha256 = *from_hex(digest.hex);
  return first_valid_signature(
      found, digest, "a ", [&](const Bundle& bundle) { return verify_bundle_with_key(bundle, key, sha256); },
      [&](const LegacySignature& sig) -> Status {
        auto raw = base64_decode(sig.signature_base64);
        if (!raw || !key.verify(sig.payload, *raw))
          return fail(ErrorKind::invalid_input,
                      "the cosign signature does not verify with the key " + key.fingerprint().substr(0, 16));
        auto payload = parse_simple_signing(sig.payload);
        if (!payload) return fail(payload.error());
        if (payload->manifest_digest != digest.str())
          return fail(ErrorKind::invalid_input, "the cosign signature is for " + payload->manifest_digest);
        return {};
      });
}

}  // namespace sbpipe

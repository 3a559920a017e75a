#include "sigstore/tlog_entry.h"

#include <bit>
#include <charconv>
#include <limits>

#include "core/base64.h"
#include "core/hex.h"
#include "core/sha256.h"

namespace sbpipe {
namespace {

std::unexpected<Error> bad(const std::string& why) { return fail(ErrorKind::invalid_input, "transparency-log entry: " + why); }

// protobuf JSON's int64: a decimal string or a number.
std::optional<int64_t> int64_of(const nlohmann::json& object, const char* key) {
  if (!object.is_object() || !object.contains(key)) return std::nullopt;
  const auto& v = object[key];
  if (v.is_number_unsigned()) {
    auto u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (v.is_number_integer()) return std::nullopt;  // negative
  if (!v.is_string()) return std::nullopt;
  const std::string& s = v.get_ref<const std::string&>();
  int64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty() || value < 0) return std::nullopt;
  return value;
}

std::optional<std::string> bytes_of(const nlohmann::json& object, const char* key) {
  if (!object.is_object() || !object.contains(key) || !object[key].is_string()) return std::nullopt;
  return base64_decode(object[key].get<std::string>());
}

std::string string_of(const nlohmann::json& object, const char* key) {
  return object.is_object() && object.contains(key) && object[key].is_string() ? object[key].get<std::string>() : "";
}

const nlohmann::json& at_path(const nlohmann::json& j, std::initializer_list<const char*> keys) {
  static const nlohmann::json k_null;
  const nlohmann::json* cur = &j;
  for (const char* key : keys) {
    if (!cur->is_object() || !cur->contains(key)) return k_null;
    cur = &(*cur)[key];
  }
  return *cur;
}

std::string node_hash(const std::string& left, const std::string& right) {
  return Sha256::bytes_of(std::string(1, '\x01') + left + right);
}

// The signed note's text (through the newline before the blank line) and its
// signature lines "— NAME BASE64(hint[4] || signature)".
struct SignedNote {
  std::string text;
  std::vector<std::pair<std::string, std::string>> signatures;  // name, raw bytes
};

std::optional<SignedNote> parse_note(std::string_view envelope) {
  size_t split = envelope.find("\n\n");
  if (split == std::string_view::npos) return std::nullopt;
  SignedNote note{std::string(envelope.substr(0, split + 1)), {}};
  std::string_view rest = envelope.substr(split + 2);
  static constexpr std::string_view k_dash = "\xE2\x80\x94 ";  // U+2014 and a space
  while (!rest.empty()) {
    size_t eol = rest.find('\n');
    if (eol == std::string_view::npos) return std::nullopt;
    std::string_view line = rest.substr(0, eol);
    rest.remove_prefix(eol + 1);
    if (!line.starts_with(k_dash)) return std::nullopt;
    line.remove_prefix(k_dash.size());
    size_t space = line.find(' ');
    if (space == std::string_view::npos) return std::nullopt;
    auto raw = base64_decode(line.substr(space + 1));
    if (!raw || raw->size() < 5) return std::nullopt;
    note.signatures.emplace_back(std::string(line.substr(0, space)), *raw);
  }
  return note;
}

}  // namespace

Result<TlogEntry> parse_tlog_entry(const nlohmann::json& j) {
  if (!j.is_object()) return bad("not an object");
  TlogEntry entry;
  auto index = int64_of(j, "logIndex");
  auto time = int64_of(j, "integratedTime");
  auto key_id = bytes_of(at_path(j, {"logId"}), "keyId");
  auto body = bytes_of(j, "canonicalizedBody");
  if (!index) return bad("no logIndex");
  if (!key_id) return bad("no logId.keyId");
  if (!time) return bad("no integratedTime");
  if (!body) return bad("no canonicalizedBody");
  entry.log_index = *index;
  entry.log_id = *key_id;
  entry.integrated_time = *time;
  entry.body = *body;
  entry.kind = string_of(at_path(j, {"kindVersion"}), "kind");
  entry.version = string_of(at_path(j, {"kindVersion"}), "version");
  if (entry.kind.empty() || entry.version.empty()) return bad("no kindVersion");
  if (j.contains("inclusionPromise")) {
    auto set = bytes_of(j["inclusionPromise"], "signedEntryTimestamp");
    if (!set) return bad("no inclusionPromise.signedEntryTimestamp");
    entry.signed_entry_timestamp = *set;
  }
  if (j.contains("inclusionProof")) {
    const auto& p = j["inclusionProof"];
    InclusionProof proof;
    auto proof_index = int64_of(p, "logIndex");
    auto size = int64_of(p, "treeSize");
    auto root = bytes_of(p, "rootHash");
    std::string checkpoint = string_of(at_path(p, {"checkpoint"}), "envelope");
    if (!proof_index || !size || !root || checkpoint.empty())
      return bad("inclusionProof needs logIndex, treeSize, rootHash and checkpoint.envelope");
    proof.log_index = *proof_index;
    proof.tree_size = *size;
    proof.root_hash = *root;
    proof.checkpoint = checkpoint;
    if (p.contains("hashes")) {
      if (!p["hashes"].is_array()) return bad("inclusionProof.hashes is not a list");
      for (const auto& h : p["hashes"]) {
        auto raw = h.is_string() ? base64_decode(h.get<std::string>()) : std::nullopt;
        if (!raw || raw->size() != 32) return bad("inclusionProof.hashes holds a value that is not a base64 SHA-256");
        proof.hashes.push_back(*raw);
      }
    }
    entry.inclusion_proof = std::move(proof);
  }
  return entry;
}

Result<TlogEntry> parse_cosign_rekor_bundle(std::string_view json) {
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (!j.is_object()) return bad("the dev.sigstore.cosign/bundle annotation is not a JSON object");
  const auto& payload = at_path(j, {"Payload"});
  auto set = bytes_of(j, "SignedEntryTimestamp");
  auto body = bytes_of(payload, "body");
  auto time = int64_of(payload, "integratedTime");
  auto index = int64_of(payload, "logIndex");
  auto log_id = from_hex(string_of(payload, "logID"));
  if (!set || !body || !time || !index || !log_id || log_id->empty())
    return bad(
        "the dev.sigstore.cosign/bundle annotation needs SignedEntryTimestamp and Payload.{body, integratedTime, "
        "logIndex, logID}");
  TlogEntry entry;
  entry.log_index = *index;
  entry.log_id = *log_id;
  entry.integrated_time = *time;
  entry.body = *body;
  entry.signed_entry_timestamp = *set;
  return entry;
}

std::string signed_entry_timestamp_payload(const TlogEntry& entry) {
  // nlohmann::json orders keys by byte value and writes integers plainly:
  // RFC 8785 for these four ASCII keys, integer values and base64/hex strings.
  nlohmann::json payload{{"body", base64_encode(entry.body)},
                         {"integratedTime", entry.integrated_time},
                         {"logIndex", entry.log_index},
                         {"logID", to_hex(entry.log_id)}};
  return payload.dump();
}

Status verify_signed_entry_timestamp(const TlogEntry& entry, const TransparencyLog& log) {
  if (!entry.signed_entry_timestamp) return bad("no signed entry timestamp (inclusion promise)");
  if (!log.valid_for.start) return bad("the trusted root gives no validFor.start for the log's key");
  if (!log.valid_for.contains(entry.integrated_time))
    return bad("the log's key is not valid at the integrated time " + unix_time_text(entry.integrated_time));
  if (!log.key.verify(signed_entry_timestamp_payload(entry), *entry.signed_entry_timestamp))
    return bad("the signed entry timestamp does not verify with the log's key");
  return {};
}

std::string rfc6962_leaf_hash(std::string_view leaf) { return Sha256::bytes_of(std::string(1, '\0') + std::string(leaf)); }

std::optional<std::string> rfc6962_root_from_path(const std::string& leaf_hash, int64_t index, int64_t tree_size,
                                                  const std::vector<std::string>& path) {
  // transparency-dev/merkle proof/verify.go: the path splits where the paths
  // to `index` and to the last leaf diverge; below it both children are
  // ordered by the index's bits, above it the path runs along the right border.
  if (index < 0 || index >= tree_size) return std::nullopt;
  auto i = static_cast<uint64_t>(index);
  auto last = static_cast<uint64_t>(tree_size - 1);
  size_t inner = static_cast<size_t>(std::bit_width(i ^ last));
  size_t border = static_cast<size_t>(std::popcount(i >> inner));
  if (path.size() != inner + border) return std::nullopt;
  std::string hash = leaf_hash;
  for (size_t level = 0; level < inner; ++level)
    hash = ((i >> level) & 1) != 0 ? node_hash(path[level], hash) : node_hash(hash, path[level]);
  for (size_t k = inner; k < path.size(); ++k) hash = node_hash(path[k], hash);
  return hash;
}

Status verify_inclusion_proof(const TlogEntry& entry, const TransparencyLog& log) {
  if (!entry.inclusion_proof) return bad("no inclusion proof");
  const auto& proof = *entry.inclusion_proof;
  auto root = rfc6962_root_from_path(rfc6962_leaf_hash(entry.body), proof.log_index, proof.tree_size, proof.hashes);
  if (!root)
    return bad("the inclusion proof's path does not fit index " + std::to_string(proof.log_index) + " of a tree of " +
               std::to_string(proof.tree_size));
  if (*root != proof.root_hash) return bad("the inclusion proof does not lead to its root hash");
  auto note = parse_note(proof.checkpoint);
  if (!note) return bad("the checkpoint is not a signed note");
  // Body: origin, tree size, base64 root hash, then optional lines.
  std::vector<std::string> lines;
  for (size_t start = 0; start < note->text.size();) {
    size_t eol = note->text.find('\n', start);
    lines.push_back(note->text.substr(start, eol - start));
    start = eol + 1;
  }
  if (lines.size() < 3) return bad("the checkpoint has fewer than three lines");
  if (lines[1] != std::to_string(proof.tree_size) || base64_decode(lines[2]) != proof.root_hash)
    return bad("the checkpoint is for another tree (size " + lines[1] + ") than the inclusion proof");
  std::string hint = from_hex(log.key.fingerprint())->substr(0, 4);
  for (const auto& [name, raw] : note->signatures)
    if (raw.substr(0, 4) == hint && log.key.verify(note->text, raw.substr(4))) return {};
  return bad("the checkpoint carries no signature by the log's key");
}

Result<LoggedSignature> read_entry_body(const TlogEntry& entry) {
  auto body = nlohmann::json::parse(entry.body, nullptr, false);
  if (!body.is_object()) return bad("the body is not a JSON object");
  std::string kind = string_of(body, "kind");
  std::string version = string_of(body, "apiVersion");
  if (!entry.kind.empty() && (kind != entry.kind || version != entry.version))
    return bad("the body is " + kind + "/" + version + ", the bundle says " + entry.kind + "/" + entry.version);
  if (version != "0.0.1") return bad("the body is " + kind + " version " + version + ", which sbpipe does not read");
  LoggedSignature out;
  out.kind = kind;
  const nlohmann::json* hash = nullptr;
  std::optional<std::string> signature;
  std::string verifier_b64;
  if (kind == "hashedrekord") {
    hash = &at_path(body, {"spec", "data", "hash"});
    signature = bytes_of(at_path(body, {"spec", "signature"}), "content");
    verifier_b64 = string_of(at_path(body, {"spec", "signature", "publicKey"}), "content");
  } else if (kind == "dsse") {
    hash = &at_path(body, {"spec", "payloadHash"});
    const auto& signatures = at_path(body, {"spec", "signatures"});
    if (!signatures.is_array() || signatures.size() != 1) return bad("the dsse body must hold exactly one signature");
    signature = bytes_of(signatures[0], "signature");
    verifier_b64 = string_of(signatures[0], "verifier");
  } else {
    return bad("the body is of kind " + kind + "; sbpipe reads hashedrekord and dsse");
  }
  auto verifier = base64_decode(verifier_b64);
  auto digest = from_hex(string_of(*hash, "value"));
  if (!signature || !verifier || verifier->empty()) return bad("the " + kind + " body has no signature or verifier");
  if (string_of(*hash, "algorithm") != "sha256" || !digest || digest->size() != 32)
    return bad("the " + kind + " body has no sha256 digest");
  out.signature = *signature;
  out.verifier = *verifier;
  out.sha256 = *digest;
  return out;
}

}  // namespace sbpipe

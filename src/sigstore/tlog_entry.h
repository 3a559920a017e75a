#pragma once
// A Rekor (v1) transparency-log entry as a keyless signature carries it,
// and its offline checks against a log of the trusted root:
// - the signed entry timestamp (SET, the inclusion promise): the log key's
//   ECDSA signature over the RFC 8785 canonical JSON of {body,
//   integratedTime, logIndex, logID (hex)} (sigstore/sigstore-go
//   pkg/tlog/entry.go VerifySET, cosign pkg/cosign/verify.go VerifySET; the
//   log key must be valid at the integrated time, its start given);
// - the inclusion proof when present: the RFC 6962 audit path from the
//   entry's leaf hash to the root hash, and that root and size signed in the
//   checkpoint (a signed note, transparency-dev/formats log/README.md) by
//   the log key (rekor pkg/verify VerifyInclusion, VerifyCheckpointSignature);
// - the body: hashedrekord or dsse v0.0.1, read into what it says was
//   signed, so the caller can compare it with the signature it holds.
// Entries come from a bundle's verificationMaterial.tlogEntries or from
// cosign's dev.sigstore.cosign/bundle annotation (cosign pkg/cosign/bundle
// RekorBundle). Rekor v2 entries (no SET) are not supported.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "sigstore/trusted_root.h"

namespace sbpipe {

struct InclusionProof {
  int64_t log_index = 0;
  std::string root_hash;  // raw
  int64_t tree_size = 0;
  std::vector<std::string> hashes;  // raw, leaf to root
  std::string checkpoint;           // the signed note
};

struct TlogEntry {
  int64_t log_index = 0;
  std::string log_id;  // raw key ID
  std::string kind;    // kindVersion, when the bundle says (empty from cosign's annotation)
  std::string version;
  int64_t integrated_time = 0;
  std::string body;  // the canonicalized body, raw JSON bytes
  std::optional<std::string> signed_entry_timestamp;
  std::optional<InclusionProof> inclusion_proof;
};

// One entry of a bundle's tlogEntries (protobuf JSON: int64 as strings or
// numbers, bytes as base64). invalid_input naming the missing field.
Result<TlogEntry> parse_tlog_entry(const nlohmann::json& entry);
// cosign's Rekor bundle annotation: {"SignedEntryTimestamp", "Payload":
// {"body", "integratedTime", "logIndex", "logID"}}.
Result<TlogEntry> parse_cosign_rekor_bundle(std::string_view json);

// The bytes a SET signs.
std::string signed_entry_timestamp_payload(const TlogEntry& entry);

// Checks the entry's SET with its log's key, and its inclusion proof when
// it has one. The log (trusted_root.log(entry.log_id)) must exist.
// invalid_input saying which check failed.
Status verify_signed_entry_timestamp(const TlogEntry& entry, const TransparencyLog& log);
Status verify_inclusion_proof(const TlogEntry& entry, const TransparencyLog& log);

// RFC 6962: the root hash of a tree of `tree_size` leaves computed from the
// leaf hash at `index` and its audit path; nullopt when the path has the
// wrong length for the index and size.
std::optional<std::string> rfc6962_root_from_path(const std::string& leaf_hash, int64_t index, int64_t tree_size,
                                                  const std::vector<std::string>& path);
std::string rfc6962_leaf_hash(std::string_view leaf);

// What an entry's body says was signed.
struct LoggedSignature {
  std::string kind;       // "hashedrekord" or "dsse"
  std::string signature;  // raw
  std::string verifier;   // the signer's certificate (or key) as the body holds it: PEM
  std::string sha256;     // raw: the artifact digest (hashedrekord), the payload digest (dsse)
};
// invalid_input for another kind or version, a kind other than the
// bundle's kindVersion, or a missing field.
Result<LoggedSignature> read_entry_body(const TlogEntry& entry);

}  // namespace sbpipe

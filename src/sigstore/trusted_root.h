#pragma once
// A Sigstore trusted root (sigstore/protobuf-specs protos/
// sigstore_trustroot.proto, TrustedRoot, in its JSON form; media type
// application/vnd.dev.sigstore.trustedroot+json;version=0.1): the Fulcio
// certificate authorities and the Rekor transparency logs a keyless
// signature is checked against, read from a file so the build never reaches
// the network. Read as sigstore-go reads it (pkg/root/trusted_root.go,
// ParseCertificateAuthority and ParseTransparencyLogs): a CA's chain runs
// from the intermediates to the root, last; a log needs its hash algorithm
// (SHA2_256), its log ID and its key; CT logs alike. The timestamp
// authorities are not read: sbpipe does not check RFC 3161 timestamps
// (docs/signatures.md says what that leaves out).
//
// Immutable after loading; safe to share between threads.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "sigstore/certificate.h"
#include "sigstore/keys.h"

namespace sbpipe {

inline constexpr const char* k_trusted_root_media_type = "application/vnd.dev.sigstore.trustedroot+json;version=0.1";

// validFor: seconds since the Unix epoch; an open end is unbounded.
struct ValidityPeriod {
  std::optional<int64_t> start;
  std::optional<int64_t> end;
  bool contains(int64_t t) const { return (!start || *start <= t) && (!end || t <= *end); }
};

struct CertificateAuthority {
  std::string uri;
  std::vector<Certificate> chain;  // intermediates first, the root last
  ValidityPeriod valid_for;
};

struct TransparencyLog {
  std::string base_url;
  std::string key_id;  // logId.keyId, raw bytes
  PublicKey key;
  ValidityPeriod valid_for;  // publicKey.validFor
};

struct TrustedRoot {
  std::string source;  // the file, for messages
  std::vector<CertificateAuthority> certificate_authorities;
  std::vector<TransparencyLog> tlogs;
  std::vector<TransparencyLog> ctlogs;  // certificate transparency logs, read as tlogs
  // The Rekor log whose ID is `key_id` (raw bytes), or nullptr.
  const TransparencyLog* log(std::string_view key_id) const;
  // The CT log whose ID is `key_id`, or nullptr.
  const TransparencyLog* ctlog(std::string_view key_id) const;
};

// Parses the JSON text. config error naming `source` and the field
// ("trusted_root.json: tlogs[0].publicKey.rawBytes: not base64"): wrong
// media type, a missing or malformed field, a certificate or key that does
// not parse, a timestamp that is not RFC 3339, no CA, no ECDSA P-256 Rekor
// log. Logs with other keys (Rekor v2's Ed25519) are left out: sbpipe
// checks signed entry timestamps and SCTs signed with ECDSA P-256 only.
Result<TrustedRoot> parse_trusted_root(std::string_view json, std::string_view source);
// Reads and parses a file; config error naming the file when it cannot be read.
Result<TrustedRoot> load_trusted_root(const std::filesystem::path& path);

// RFC 3339 ("2021-10-07T13:56:59Z", fractions and offsets too) as seconds
// since the Unix epoch (fractions dropped); nullopt when malformed.
std::optional<int64_t> parse_rfc3339(std::string_view text);

}  // namespace sbpipe

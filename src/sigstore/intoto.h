#pragma once
// in-toto attestation statements, v1 (in-toto/attestation spec/v1/
// statement.md): subjects by digest, a predicate type and a predicate.
// Only the fields of the Statement message are written, as sigstore-go
// reads them with protojson, which refuses unknown fields.

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace sbpipe {

inline constexpr const char* k_statement_type = "https://in-toto.io/Statement/v1";
// What cosign v3 signs for an image (cosign pkg/types/predicate.go).
inline constexpr const char* k_cosign_sign_predicate = "https://sigstore.dev/cosign/sign/v1";
inline constexpr const char* k_slsa_provenance_predicate = "https://slsa.dev/provenance/v1";

struct StatementSubject {
  std::string name;        // may be empty
  std::string sha256_hex;  // the subject's digest
};

std::string statement_json(const std::vector<StatementSubject>& subjects, std::string_view predicate_type,
                           const nlohmann::json& predicate);

struct Statement {
  std::vector<StatementSubject> subjects;  // those with a sha256 digest
  std::string predicate_type;
  nlohmann::json predicate;
};
// invalid_input when the text is not a v1 (or v0.1) statement.
Result<Statement> parse_statement(std::string_view json);

}  // namespace sbpipe

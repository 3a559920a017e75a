#pragma once
// The one redaction helper. Every log line and every error message printed by
// sbpipe passes through redact(); secrets are registered as soon as they are
// read (passwords, tokens, webhook secrets), so they can never be printed.
//
// Thread-safe.

#include <string>
#include <string_view>

namespace sbpipe {

// Registers a secret value; later redact() calls replace it with "***".
// Values shorter than 4 characters are ignored (they would mask ordinary text).
void register_secret(std::string_view secret);

// Returns text with registered secrets, URL user-info ("//user:pass@"),
// and Authorization header values (Basic/Bearer) replaced by "***".
std::string redact(std::string_view text);

// Forgets every registered secret (tests only).
void TEST_clear_secrets();

}  // namespace sbpipe

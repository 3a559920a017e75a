#pragma once
// GitHub webhook signatures: X-Hub-Signature-256 is "sha256=" followed by
// the hex HMAC-SHA256 of the raw request body keyed with the webhook
// secret (docs.github.com/en/webhooks/using-webhooks/validating-webhook-
// deliveries). Compared in constant time, against every configured secret
// so that a secret can be rotated without dropping deliveries.

#include <string>
#include <string_view>
#include <vector>

namespace sbpipe {

// "sha256=<hex>" for `body` under `secret`.
std::string webhook_signature(std::string_view secret, std::string_view body);

// True when `header` is a well-formed signature of `body` under one of
// `secrets`. Every secret is tried (no early exit on the first mismatch),
// and each comparison is constant-time.
bool verify_webhook_signature(const std::vector<std::string>& secrets, std::string_view body, std::string_view header);

}  // namespace sbpipe

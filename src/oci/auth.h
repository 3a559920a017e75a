#pragma once
// Registry authorization: anonymous, Basic, and the Bearer token challenge of
// the distribution token spec (realm/service/scope; `token` or
// `access_token`; a missing `expires_in` means 60 s). The login (Basic) is
// sent to the token realm only over HTTPS or to a loopback host; a plain-HTTP
// realm elsewhere is an auth error (anonymous token requests are allowed).
//
// Not thread-safe: one Authenticator per registry client.

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "core/clock.h"
#include "http/client.h"
#include "oci/credentials.h"

namespace sbpipe {

struct Challenge {
  std::string scheme;                         // lowercased: "basic", "bearer"
  std::map<std::string, std::string> params;  // keys lowercased
};

// Parses a WWW-Authenticate header value (one or more challenges).
std::vector<Challenge> parse_www_authenticate(std::string_view value);

class Authenticator {
public:
  // scopes: e.g. {"repository:owner/installer:pull,push"}.
  Authenticator(HttpClient& http, Clock& clock, Credentials credentials, std::vector<std::string> scopes);

  // The Authorization header value to send, "" for none. Refreshes an
  // expired bearer token first (auth or transient errors from the token
  // service).
  Result<std::string> header();

  // Reacts to a 401: learns the challenge and obtains new authorization.
  // auth error when the credentials we hold were already refused, or the
  // registry wants Basic and we have no credentials.
  Status on_unauthorized(const HttpResponse& response);

  // Tells that a request was authorized: a later 401 means expiry, not refusal.
  void on_success() { m_fresh = false; }

  // Counts token requests made (for logs and tests).
  int token_requests() const { return m_token_requests; }

private:
  Status fetch_token();

  HttpClient& m_http;
  Clock& m_clock;
  Credentials m_credentials;
  std::vector<std::string> m_scopes;
  enum class Mode { anonymous, basic, bearer } m_mode = Mode::anonymous;
  Challenge m_challenge;
  std::string m_token;
  std::chrono::steady_clock::time_point m_expiry{};
  bool m_fresh = false;  // authorization obtained since the last 401
  int m_token_requests = 0;
};

}  // namespace sbpipe

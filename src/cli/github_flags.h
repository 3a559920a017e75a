#pragma once
// The flags every GitHub-facing command shares (API address, token,
// retries), and the client they open.

#include <memory>
#include <string>

#include "github/api.h"

namespace CLI {
class App;
}

namespace sbpipe {

struct GitHubFlags {
  std::string api = "https://api.github.com";
  std::string token_file;
  std::string ca_file;
  int retries = 5;
  int retry_delay_ms = 1000;
  int max_rate_limit_wait_s = 900;
};

void add_github_flags(CLI::App& cmd, GitHubFlags& flags);

// A GitHub token and where it came from (named in logs and 401/403
// messages; the value never is).
struct GitHubToken {
  std::string value;
  std::string source;  // "GH_TOKEN", "GITHUB_TOKEN" or "--github-token-file PATH"
};

// The token, as gh looks for one: env GH_TOKEN, then env GITHUB_TOKEN, then
// --github-token-file (or the config's github_token_file). Registered for
// redaction before it is returned; config error when there is none.
Result<GitHubToken> github_token(const GitHubFlags& flags);

struct GitHubConnection {
  std::unique_ptr<HttpClient> http;
  std::unique_ptr<GitHubApi> api;
  RetryPolicy policy;
  std::string token_source;
};

// Opens the client with github_token()'s token.
Result<GitHubConnection> connect_github(const GitHubFlags& flags);

}  // namespace sbpipe

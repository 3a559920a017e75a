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

struct GitHubConnection {
  std::unique_ptr<HttpClient> http;
  std::unique_ptr<GitHubApi> api;
  RetryPolicy policy;
};

// The token comes from --github-token-file, else env GITHUB_TOKEN; it is
// registered for redaction before anything else happens. config error when
// there is none.
Result<GitHubConnection> connect_github(const GitHubFlags& flags);

} // namespace sbpipe

#include "cli/github_flags.h"

#include <CLI/CLI.hpp>

#include "core/file.h"
#include "core/redact.h"
#include "oci/credentials.h"

namespace sbpipe {

void add_github_flags(CLI::App& cmd, GitHubFlags& flags) {
  cmd.add_option("--github-api", flags.api, "GitHub REST API base URL (GitHub Enterprise: https://HOST/api/v3)")
      ->capture_default_str();
  cmd.add_option("--github-token-file", flags.token_file, "File holding the GitHub token (default: env GITHUB_TOKEN)");
  cmd.add_option("--github-ca-file", flags.ca_file, "Extra CA bundle for the GitHub API's TLS certificate");
  cmd.add_option("--retries", flags.retries, "Tries per request before giving up")->capture_default_str()->check(CLI::Range(1, 100));
  cmd.add_option("--retry-delay-ms", flags.retry_delay_ms, "First back-off delay; doubles per try")
      ->capture_default_str()
      ->check(CLI::Range(1, 600000));
  cmd.add_option("--max-rate-limit-wait", flags.max_rate_limit_wait_s,
                 "Longest wait, in seconds, for a GitHub rate limit to reset; longer fails")
      ->capture_default_str()
      ->check(CLI::Range(0, 86400));
}

Result<GitHubConnection> connect_github(const GitHubFlags& flags) {
  std::string token;
  if (!flags.token_file.empty()) {
    auto read = read_secret_file(flags.token_file, "GitHub token");
    if (!read) return fail(read.error());
    token = std::move(*read);
  } else if (auto env = process_getenv("GITHUB_TOKEN"); env && !env->empty()) {
    token = *env;
    register_secret(token);
  } else {
    return fail(ErrorKind::config, "no GitHub token: set GITHUB_TOKEN or pass --github-token-file");
  }
  if (!flags.api.starts_with("https://") && !flags.api.starts_with("http://"))
    return fail(ErrorKind::usage, "--github-api '" + flags.api + "': expected an http(s):// URL");
  GitHubConnection connection;
  connection.policy.max_attempts = flags.retries;
  connection.policy.base_delay = std::chrono::milliseconds(flags.retry_delay_ms);
  HttpOptions http_options;
  http_options.ca_file = flags.ca_file;
  connection.http = make_curl_client(http_options);
  GitHubOptions options{flags.api, connection.policy, std::chrono::seconds(flags.max_rate_limit_wait_s)};
  connection.api = std::make_unique<GitHubApi>(*connection.http, real_clock(), std::move(token), options);
  return connection;
}

} // namespace sbpipe

#include "cli/github_flags.h"

#include <CLI/CLI.hpp>

#include <spdlog/spdlog.h>

#include "cli/duration_flags.h"
#include "core/file.h"
#include "core/redact.h"
#include "oci/credentials.h"

namespace sbpipe {

void add_github_flags(CLI::App& cmd, GitHubFlags& flags) {
  cmd.add_option("--github-api", flags.api, "GitHub REST API base URL (GitHub Enterprise: https://HOST/api/v3)")
      ->capture_default_str();
  cmd.add_option("--github-token-file", flags.token_file, "File holding the GitHub token (else env GH_TOKEN, then GITHUB_TOKEN)");
  cmd.add_option("--github-ca-file", flags.ca_file, "Extra CA bundle for the GitHub API's TLS certificate");
  cmd.add_option("--retries", flags.retries, "Tries per request before giving up")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  add_duration_flag(cmd,
                    DurationFlag{.name = "--retry-delay",
                                 .description = "First back-off delay; doubles per try",
                                 .value = std::chrono::milliseconds(flags.retry_delay_ms),
                                 .legacy_ms_name = "--retry-delay-ms",
                                 .max = std::chrono::minutes(10)},
                    [&flags](std::chrono::milliseconds d) { flags.retry_delay_ms = static_cast<int>(d.count()); });
  add_duration_flag(cmd,
                    DurationFlag{.name = "--max-rate-limit-wait",
                                 .description = "Longest wait for a GitHub rate limit to reset; longer fails",
                                 .value = std::chrono::seconds(flags.max_rate_limit_wait_s),
                                 .bare_unit = std::chrono::seconds(1),
                                 .min = std::chrono::milliseconds(0),
                                 .max = std::chrono::hours(24)},
                    [&flags](std::chrono::milliseconds d) {
                      flags.max_rate_limit_wait_s = static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(d).count());
                    });
}

Result<GitHubToken> github_token(const GitHubFlags& flags) {
  // A file named on the command line or in the config is this run's choice, as registry
  // credentials given by flag are; without one, the environment as gh reads it.
  if (!flags.token_file.empty()) {
    auto read = read_secret_file(flags.token_file, "GitHub token");
    if (!read) return fail(read.error());
    GitHubToken token{std::move(*read), "--github-token-file " + flags.token_file};
    spdlog::debug("GitHub token from {}", token.source);
    return token;
  }
  GitHubToken token;
  for (const char* name : {"GH_TOKEN", "GITHUB_TOKEN"}) {
    if (auto env = process_getenv(name); env && !env->empty()) {
      token = GitHubToken{*env, name};
      register_secret(token.value);
      break;
    }
  }
  if (token.value.empty())
    return fail(ErrorKind::config, "no GitHub token: set GH_TOKEN (or GITHUB_TOKEN) or pass --github-token-file");
  spdlog::debug("GitHub token from {}", token.source);
  return token;
}

Result<GitHubConnection> connect_github(const GitHubFlags& flags) {
  auto token = github_token(flags);
  if (!token) return fail(token.error());
  if (!flags.api.starts_with("https://") && !flags.api.starts_with("http://"))
    return fail(ErrorKind::usage, "--github-api '" + flags.api + "': expected an http(s):// URL");
  GitHubConnection connection;
  connection.policy.max_attempts = flags.retries;
  connection.policy.base_delay = std::chrono::milliseconds(flags.retry_delay_ms);
  HttpOptions http_options;
  http_options.ca_file = flags.ca_file;
  connection.http = make_curl_client(http_options);
  GitHubOptions options{flags.api, connection.policy, std::chrono::seconds(flags.max_rate_limit_wait_s), token->source};
  connection.token_source = token->source;
  connection.api = std::make_unique<GitHubApi>(*connection.http, real_clock(), std::move(token->value), options);
  return connection;
}

}  // namespace sbpipe

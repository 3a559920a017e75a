#pragma once
// A client for the part of the GitHub REST API that publishing a release
// needs: find a release by tag (drafts included), list, upload, rename,
// download and delete its assets, and update the release.
//
// Requests are retried on connection errors, 5xx and rate limits (403/429
// with Retry-After, or x-ratelimit-remaining: 0 until x-ratelimit-reset),
// with back-off and a bound on both tries and waiting. Asset uploads are the
// exception: a failed upload can leave a half-made asset behind, so only
// rate limits (which GitHub answers before creating anything) are retried
// here; the caller recovers from the rest (see github_target.h).
//
// The token goes to the API host and, for uploads, only to the upload host
// GitHub itself names for it: the API's host (GitHub Enterprise Server
// serves uploads at https://HOST/api/uploads), or "uploads.X" for an API at
// "api.X" (uploads.github.com for api.github.com; uploads.SUBDOMAIN.ghe.com
// for api.SUBDOMAIN.ghe.com, google/go-github#3985). An upload_url on any
// other host, or on http:// for an https:// API, is refused unsent. Ports are
// not compared (a loopback stand-in, or a proxy in front of GHES, may use two).
//
// References: docs.github.com/en/rest/releases/releases and
// /releases/assets (upload_url, states, digest), /using-the-rest-api/
// rate-limits-for-the-rest-api (primary and secondary limits, headers).
//
// Not thread-safe: one GitHubApi per thread.

#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/clock.h"
#include "http/client.h"
#include "http/retry.h"

namespace sbpipe {

struct RepoName {
  std::string owner;
  std::string name;
  // "OWNER/NAME"; usage error naming `what` otherwise.
  static Result<RepoName> parse(std::string_view text, std::string_view what = "--repo");
  std::string str() const { return owner + "/" + name; }
};

struct ReleaseAsset {
  int64_t id = 0;
  std::string name;
  std::string state;  // "uploaded", or "starter"/"open" for a broken upload
  uint64_t size = 0;
  std::optional<std::string> sha256;  // hex, from "digest": "sha256:<hex>" (null on old assets)
  std::string content_type;
};

struct Release {
  int64_t id = 0;
  std::string tag_name;
  std::string name;
  std::string body;
  bool draft = false;
  bool prerelease = false;
  std::string upload_url;  // with its "{?name,label}" template
  std::string html_url;
  bool is_full_release() const { return !draft && !prerelease; }
};

// What the token may do on a repository, as GET /repos/{owner}/{repo}
// answers it (docs.github.com/en/rest/repos/repos#get-a-repository): the
// account's `permissions` on it, and, for a classic token, the scopes
// GitHub lists in X-OAuth-Scopes (fine-grained tokens get no such header;
// what they were granted shows only when a request needs it, as a 403
// naming the permission in X-Accepted-GitHub-Permissions).
struct RepoAccess {
  bool is_private = false;
  bool push = false;                               // permissions.push
  std::optional<std::vector<std::string>> scopes;  // nullopt: not a classic token
};

struct GitHubOptions {
  std::string api_base = "https://api.github.com";
  RetryPolicy policy;
  // Longest single wait for a rate limit; a longer one fails instead.
  std::chrono::seconds max_rate_limit_wait{900};
  // Where the token came from ("GH_TOKEN", "--github-token-file F", ...):
  // a 401 or 403 names it and the permission the token needs. Never the value.
  std::string token_source;
};

class GitHubApi {
public:
  // `token` is sent as a Bearer token; it must already be registered for
  // redaction.
  GitHubApi(HttpClient& http, Clock& clock, std::string token, GitHubOptions options);

  // The release with this tag: a published one through releases/tags/{tag},
  // else a draft found by listing releases. not_found when neither exists;
  // conflict when several drafts carry the tag (GitHub allows that), naming
  // their ids: pick one with get_release.
  Result<Release> find_release(const RepoName& repo, const std::string& tag);

  // The release with this id (GET releases/{id}; drafts too, for a token
  // with push access). not_found when there is none (deleted).
  Result<Release> get_release(const RepoName& repo, int64_t release_id);

  // The token's access to `repo` (RepoAccess). not_found when the token
  // cannot see the repository; auth errors as for every call.
  Result<RepoAccess> repo_access(const RepoName& repo);

  // Where the token came from (GitHubOptions::token_source), for messages.
  const std::string& token_source() const { return m_options.token_source; }

  // Every asset of a release (all pages).
  Result<std::vector<ReleaseAsset>> list_assets(const RepoName& repo, int64_t release_id);

  // POST to the release's upload_url (template stripped) with ?name=, a
  // Content-Length and the body streamed from `open`. The answer is the
  // created asset. 422 (a duplicate name, an immutable release) is a
  // permanent error whose message carries GitHub's error code. An upload_url
  // on a host the token must not go to is a permanent error, sent nothing.
  Result<ReleaseAsset> upload_asset(const Release& release, const std::string& name, const std::string& content_type,
                                    uint64_t size, const SourceOpener& open);

  // DELETE; an asset already gone counts as deleted.
  Status delete_asset(const RepoName& repo, int64_t asset_id);

  // PATCH {"name": ...}.
  Result<ReleaseAsset> rename_asset(const RepoName& repo, int64_t asset_id, const std::string& name);

  // Streams an asset's bytes (Accept: application/octet-stream, following
  // GitHub's redirect to its storage host) into `sink`.
  Status download_asset(const RepoName& repo, int64_t asset_id, const std::function<Status(std::span<const char>)>& sink);

  // PATCH of the release with the given fields; returns the updated release.
  Result<Release> update_release(const RepoName& repo, int64_t release_id, const nlohmann::json& fields);

  int requests_sent() const { return m_requests; }

private:
  // everything: transport errors, 5xx and rate limits; statuses_only: 5xx and
  // rate limits; rate_limits_only: rate limits alone.
  enum class RetryOn { everything, statuses_only, rate_limits_only };
  Result<HttpResponse> call(HttpRequest request, const SourceOpener* body, RetryOn retry_on);
  Result<nlohmann::json> call_json(const std::string& method, const std::string& url, const std::string& what,
                                   const nlohmann::json* body, std::initializer_list<long> ok_statuses);
  std::optional<std::chrono::milliseconds> rate_limit_wait(const HttpResponse& response, Error& why);
  Error status_error(const HttpResponse& response, const std::string& what) const;
  std::string repo_url(const RepoName& repo, const std::string& path) const;
  Status check_upload_host(const std::string& upload_url) const;

  HttpClient& m_http;
  Clock& m_clock;
  std::string m_token;
  GitHubOptions m_options;
  std::mt19937 m_rng;
  int m_requests = 0;
};

// Parsers for the API's objects (exposed for tests).
Result<ReleaseAsset> parse_release_asset(const nlohmann::json& object);
Result<Release> parse_release(const nlohmann::json& object);

}  // namespace sbpipe

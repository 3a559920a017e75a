#pragma once
// A stand-in for the part of the GitHub REST API that sbpipe publishes
// releases with, on 127.0.0.1. It follows the documented behaviour
// (docs.github.com/en/rest/releases/{releases,assets}; /rest/using-the-rest-api/
// getting-started-with-the-rest-api#user-agent; /rest/about-the-rest-api/
// api-versions; the rate-limit docs) and answers objects carrying every
// field @octokit/openapi 23.0.2 marks required (checked against the schemas
// in tests/support/github-openapi/):
//   - two origins like github.com: the API (api.github.com) and the upload
//     host (uploads.github.com) that `upload_url` points at, as the
//     RFC 6570 template ".../assets{?name,label}"; asset downloads are
//     redirected (302) to a storage URL on the upload host which, like S3,
//     refuses requests that carry an Authorization header;
//   - a Bearer (or "token") token is required on every API call (401); a
//     missing or empty User-Agent gets 403; an X-GitHub-Api-Version other
//     than the supported 2022-11-28 and 2026-03-10 gets 400 (none: the
//     default version);
//   - uploads need ?name=, Content-Type and Content-Length; the body is
//     streamed to disk and hashed; 201 with the asset object including
//     "digest": "sha256:<hex>", "state": "uploaded". While the body
//     arrives the asset is listed in state "open" (the schema's other
//     state); an upload broken off mid-body stays "open"; a 502 leaves it
//     "starter", as the upload docs say;
//   - a name taken by any asset (also a broken one) → 422 with errors[].code
//     "already_exists", for uploads and renames (PATCH);
//   - DELETE → 204; unknown ids → 404 {"message":"Not Found"};
//   - releases/{id} finds any release, drafts too (push access);
//     releases/tags/{tag} finds published releases only; drafts appear in
//     the list, and several drafts may carry one tag, as on GitHub; PATCH of
//     a release checks types and that make_latest "true" is not set on a
//     draft or pre-release (422);
//   - immutable releases, once published, refuse uploads, asset deletes and
//     asset renames (422);
//   - x-ratelimit-{limit,remaining,reset,used,resource} on every answer;
//   - GET /repos/{owner}/{repo} answers the fields sbpipe reads (full_name,
//     private, permissions) and a few more, not the whole full-repository
//     schema; the token's access is set through faults() (read_only,
//     oauth_scopes).
// Faults are injected through faults(): primary (403 + remaining 0) and
// secondary (403 + retry-after) rate limits, a 502 after an upload that
// leaves a "starter" asset, assets without digests, an upload_url on a
// foreign host, and a hook run after an upload is stored but before it is
// answered, and one when its first bytes arrive (tests kill sbpipe there).
// Every request is logged as "METHOD /path" (uploads as
// "POST upload <name>") for exact-sequence assertions.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace sbpipe::test {

struct StandInAsset {
  int64_t id = 0;
  std::string name;
  std::string state = "uploaded";
  uint64_t size = 0;
  std::string sha256;  // hex
  bool has_digest = true;
  std::string content_type;
  std::filesystem::path file;
};

struct StandInRelease {
  int64_t id = 0;
  std::string repo;
  std::string tag;
  std::string name;
  std::string body;
  bool draft = false;
  bool prerelease = true;
  bool immutable = false;
  std::vector<StandInAsset> assets;
};

struct StandInFaults {
  int primary_rate_limits = 0;    // next N API requests: 403, x-ratelimit-remaining 0, reset in 1 s
  int secondary_rate_limits = 0;  // next N API requests: 403 with retry-after: 1
  std::string rate_limit_match;   // only requests whose log entry starts with this ("" = any)
  int upload_502 = 0;             // next N uploads: stored as "starter", answered 502
  bool omit_digests = false;      // assets answered with "digest": null
  // When set, releases answer this origin in upload_url ("https://evil.example")
  // instead of the upload host's.
  std::string upload_url_origin;
  // Called when the first bytes of an upload's body arrived (name); when it
  // returns true the upload is broken off, as by a connection lost mid-body.
  std::function<bool(const std::string&)> during_upload;
  // Called after an upload is stored, before it is answered (name).
  std::function<void(const std::string&)> after_upload;
  // The token's access, as GitHub shows it: GET /repos/{owner}/{repo} answers
  // "permissions" (docs.github.com/en/rest/repos/repos#get-a-repository); a
  // write the token may not make gets 403 "Resource not accessible by
  // personal access token" with X-Accepted-GitHub-Permissions naming the
  // permission (docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api);
  // a classic token's answers carry X-OAuth-Scopes (docs.github.com/en/apps/
  // oauth-apps/building-oauth-apps/scopes-for-oauth-apps).
  bool read_only = false;     // permissions.push false; POST, PATCH and DELETE answered 403
  std::string oauth_scopes;   // non-empty: a classic token with these scopes ("repo, write:packages")
  bool private_repo = false;  // the repository's "private"
};

class GitHubStandIn {
public:
  explicit GitHubStandIn(std::string token = "ghp_standin_token_0123456789");
  ~GitHubStandIn();
  GitHubStandIn(const GitHubStandIn&) = delete;
  GitHubStandIn& operator=(const GitHubStandIn&) = delete;

  std::string api_url() const;
  const std::string& token() const { return m_token; }
  int api_port() const { return m_api_port; }

  int64_t create_release(const std::string& repo, const std::string& tag, bool prerelease = true, bool draft = false,
                         const std::string& body = "");
  void set_immutable(int64_t release_id, bool immutable);
  // What the owner does in the web UI: unpublish (draft), publish, delete.
  void set_draft(int64_t release_id, bool draft);
  void delete_release(int64_t release_id);
  int64_t add_asset(int64_t release_id, const std::string& name, const std::string& content,
                    const std::string& state = "uploaded");
  // Deletes an asset by name, as a person would in the web UI.
  void remove_asset(int64_t release_id, const std::string& name);

  StandInRelease release(int64_t release_id);
  bool has_release(int64_t release_id);
  std::optional<StandInAsset> asset(int64_t release_id, const std::string& name);
  std::string content(const StandInAsset& asset);
  std::optional<int64_t> latest(const std::string& repo);

  std::vector<std::string> requests();
  void clear_requests();
  // Runs `change` on the faults under the stand-in's lock.
  void with_faults(const std::function<void(StandInFaults&)>& change);
  // Requests that carried an Authorization header to the storage host.
  int leaked_authorizations();

  struct Impl;

private:
  std::unique_ptr<Impl> m_impl;
  std::string m_token;
  int m_api_port = 0;
};

}  // namespace sbpipe::test

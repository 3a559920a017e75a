#pragma once
// A client for one repository of an OCI distribution registry.
// Metadata requests (HEAD, GET, manifest PUT) are retried here on
// connection errors, 408, 429 (honouring Retry-After) and 5xx; blob uploads
// are not, because a failed upload restarts from its HEAD (see pusher.h).
// A 401 is answered by the Authenticator, once per request.
// Authorization is sent only to the endpoint's own origin (scheme, host,
// port); requests to another origin (an upload Location elsewhere) carry
// none, and a 401 from there is an auth error. An HTTPS registry's
// plain-HTTP upload Location is refused.
//
// Not thread-safe: one Registry per thread.

#include <functional>
#include <optional>
#include <random>
#include <string>

#include "core/clock.h"
#include "http/client.h"
#include "http/retry.h"
#include "oci/auth.h"
#include "oci/digest.h"

namespace sbpipe {

struct RegistryEndpoint {
  std::string base_url;    // "https://ghcr.io" or "http://127.0.0.1:5000"
  std::string repository;  // "owner/installer"
  std::string display() const;
};

struct ManifestHead {
  Digest digest;
  std::string media_type;
};

struct FetchedManifest {
  std::string media_type;
  std::string body;
  Digest digest;  // of body (checked against the registry's Docker-Content-Digest)
};

struct RegistryCounters {
  int blob_heads = 0;
  int blob_uploads = 0;
  int blob_mounts = 0;
  uint64_t bytes_uploaded = 0;
  int manifest_puts = 0;
};

class Registry {
public:
  Registry(HttpClient& http, Authenticator& auth, Clock& clock, RegistryEndpoint endpoint, RetryPolicy policy);

  // GET /v2/: checks that the registry speaks the API and obtains
  // authorization. auth errors for refused credentials.
  Status ping();

  // true when the blob exists (HEAD 200), false on 404.
  Result<bool> has_blob(const Digest& digest);

  // Cross-repository mount (POST ?mount=&from=). true when mounted (201);
  // false when the registry did not mount (any upload it opened is cancelled).
  Result<bool> mount_blob(const Digest& digest, const std::string& from_repository);

  // Uploads a blob whose digest and size are known: POST, then one PUT
  // ?digest= streaming `body` with Content-Length. Not retried.
  Status upload_blob(const Digest& digest, uint64_t size, ByteSource& body);

  // Uploads a blob whose digest is known only when the body ends: POST,
  // PATCH with a chunked body, then PUT ?digest=digest_after(). Not retried.
  // On any failure the upload session is cancelled (DELETE).
  Status upload_blob_streamed(ByteSource& body, const std::function<Digest()>& digest_after);

  // HEAD of a manifest by tag or digest; nullopt on 404.
  Result<std::optional<ManifestHead>> head_manifest(const std::string& reference);

  // PUT of a manifest; checks the registry's Docker-Content-Digest.
  Status put_manifest(const std::string& reference, const std::string& media_type, const std::string& body);

  // PUT of a manifest that names a `subject` (OCI image-spec 1.1), by its
  // digest. true when the registry answered with the OCI-Subject header
  // naming that subject, i.e. it indexes referrers itself; false when the
  // client must keep the referrers tag schema's index (distribution-spec
  // 1.1, "Pushing Manifests with Subject").
  Result<bool> put_referrer_manifest(const std::string& media_type, const std::string& body, const Digest& subject);

  // GET /referrers/<subject>?artifactType=: the referrers index (4 MiB at
  // most). nullopt when the registry has no referrers API (404, as
  // distribution-spec 1.1 says a registry without it answers).
  Result<std::optional<std::string>> get_referrers(const Digest& subject, const std::string& artifact_type);

  // GET of a manifest or index by tag or digest (4 MiB at most); nullopt on
  // 404. permanent when a digest reference and the body disagree.
  Result<std::optional<FetchedManifest>> get_manifest(const std::string& reference);

  // GET of a blob, streamed into `sink` and checked against `digest` as it
  // streams (a mismatch fails after the last byte). Follows the registry's
  // redirect to its storage. Not retried: `sink` has seen the bytes.
  // With `size` (the descriptor's), a body that runs past it is cut off
  // there and one that ends short fails, both invalid_input naming the
  // registry, before the digest is compared (issue 30).
  Status get_blob(const Digest& digest, const std::function<Status(std::span<const char>)>& sink,
                  std::optional<uint64_t> size = std::nullopt);

  // Every request from now on must end by `deadline` (`what` names it in
  // the timeout error: "the previous release's pull (10 min)"); a request
  // that would start after it fails at once. nullopt: no deadline.
  void set_deadline(std::optional<std::chrono::steady_clock::time_point> deadline, std::string what = "");

  // Whether the registry lets these credentials push, without pushing: opens
  // a blob upload (POST) and cancels it at once (DELETE of its Location).
  // auth errors when the registry refuses.
  Status check_push();

  // The repository's tags (GET /tags/list, every page).
  Result<std::vector<std::string>> list_tags();

  const RegistryCounters& counters() const { return m_counters; }
  const RegistryEndpoint& endpoint() const { return m_endpoint; }

private:
  enum class Retry { yes, no };
  Result<HttpResponse> call(HttpRequest request, Retry retry);
  // PUT of a manifest, retried from memory; the 201 response.
  Result<HttpResponse> send_manifest(const std::string& reference, const std::string& media_type, const std::string& body);
  Result<std::string> start_upload(const std::string& query = "");
  // A Location resolved against `base`; permanent error for a non-HTTP(S)
  // URL, or a plain-HTTP one from an HTTPS registry.
  Result<std::string> upload_location(const std::string& base, const std::string& location) const;
  void cancel_upload(const std::string& location);
  Error status_error(const HttpResponse& response, const std::string& what) const;
  std::string url(const std::string& path) const;

  HttpClient& m_http;
  Authenticator& m_auth;
  Clock& m_clock;
  RegistryEndpoint m_endpoint;
  RetryPolicy m_policy;
  std::optional<std::chrono::steady_clock::time_point> m_deadline;
  std::string m_deadline_what;
  std::mt19937 m_rng;
  RegistryCounters m_counters;
};

}  // namespace sbpipe

#include "oci/registry.h"

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "core/sha256.h"
#include "http/url.h"
#include "oci/manifest.h"

namespace sbpipe {

std::string RegistryEndpoint::display() const {
  auto p = base_url.find("://");
  return (p == std::string::npos ? base_url : base_url.substr(p + 3)) + "/" + repository;
}

Registry::Registry(HttpClient& http, Authenticator& auth, Clock& clock, RegistryEndpoint endpoint, RetryPolicy policy)
    : m_http(http), m_auth(auth), m_clock(clock), m_endpoint(std::move(endpoint)), m_policy(policy),
      m_rng(std::random_device{}()) {}

std::string Registry::url(const std::string& path) const { return m_endpoint.base_url + "/v2/" + m_endpoint.repository + path; }

Error Registry::status_error(const HttpResponse& response, const std::string& what) const {
  std::string detail;
  auto body = nlohmann::json::parse(response.body, nullptr, false);
  if (body.is_object() && body.contains("errors") && body["errors"].is_array() && !body["errors"].empty()) {
    const auto& e = body["errors"][0];
    if (e.is_object() && e.contains("code") && e["code"].is_string()) detail += " " + e["code"].get<std::string>();
    if (e.is_object() && e.contains("message") && e["message"].is_string()) detail += ": " + e["message"].get<std::string>();
  }
  long s = response.status;
  ErrorKind kind = s == 401 || s == 403     ? ErrorKind::auth
                   : s == 404               ? ErrorKind::not_found
                   : is_retryable_status(s) ? ErrorKind::transient
                                            : ErrorKind::permanent;
  Error error(kind, "registry " + m_endpoint.display() + ": " + what + ": HTTP " + std::to_string(s) + detail);
  if (auto ra = response.header("Retry-After")) {
    if (auto wait = parse_retry_after(*ra, m_clock.wall_now())) error.set_retry_after(*wait);
  }
  return error;
}

Result<HttpResponse> Registry::call(HttpRequest request, Retry retry) {
  int auth_rounds = 0;
  for (int attempt = 1;; ++attempt) {
    // Credentials go only to the registry's own origin (scheme, host and
    // port). Upload Locations may name another host (a storage backend, or a
    // hostile registry): those get the request without them, as
    // go-containerregistry and the distribution client do.
    bool own_origin = same_origin(request.url, m_endpoint.base_url);
    HttpRequest sent = request;
    if (own_origin) {
      auto authorization = m_auth.header();
      if (!authorization) return fail(authorization.error().with_context("registry " + m_endpoint.display()));
      if (!authorization->empty()) sent.headers.emplace_back("Authorization", *authorization);
      spdlog::debug("registry {}: {} to {} with {} authorization", m_endpoint.display(), request.method, url_origin(request.url),
                    authorization->empty() ? "no" : authorization->substr(0, authorization->find(' ')));
    } else {
      spdlog::debug("registry {}: {} to {} (another origin) without credentials", m_endpoint.display(), request.method,
                    url_origin(request.url));
    }
    if (m_deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*m_deadline - m_clock.now());
      if (left.count() <= 0)
        return fail(ErrorKind::timeout, "registry " + m_endpoint.display() + ": " + m_deadline_what + " ran out of time");
      sent.timeout = left;
    }
    auto response = m_http.send(sent);
    if (!response && m_deadline && response.error().kind() == ErrorKind::timeout && m_clock.now() >= *m_deadline)
      return fail(ErrorKind::timeout, "registry " + m_endpoint.display() + ": " + m_deadline_what + " ran out of time (" +
                                          request.method + " " + url_origin(request.url) + ")");

    std::optional<std::chrono::milliseconds> wait;
    if (response && response->status == 401 && !own_origin)
      return fail(ErrorKind::auth, "registry " + m_endpoint.display() + ": " + request.method + " " + url_origin(request.url) +
                                       " (another origin than the registry) asked for credentials; they are sent only to " +
                                       url_origin(m_endpoint.base_url));
    if (response && response->status == 401 && auth_rounds++ < 2) {
      if (auto st = m_auth.on_unauthorized(*response); !st)
        return fail(st.error().with_context("registry " + m_endpoint.display()));
      // A streamed body was consumed: let the caller start over.
      if (request.body != nullptr)
        return fail(ErrorKind::transient, "registry " + m_endpoint.display() + ": authorization renewed during an upload");
      continue;
    }
    if (response) {
      if (response->status != 401) m_auth.on_success();
      if (retry == Retry::no || !is_retryable_status(response->status) || attempt >= m_policy.max_attempts) return response;
      if (auto ra = response->header("Retry-After")) wait = parse_retry_after(*ra, m_clock.wall_now());
    } else {
      if (retry == Retry::no || !response.error().retryable() || attempt >= m_policy.max_attempts) return fail(response.error());
    }
    auto delay = wait ? std::min(*wait, std::chrono::milliseconds(300'000)) : backoff_delay(m_policy, attempt, m_rng);
    std::string why =
        response ? request.method + " answered HTTP " + std::to_string(response->status) + (wait ? " with Retry-After" : "")
                 : response.error().message();
    spdlog::warn("registry {}: {} ({})", m_endpoint.display(), why, retry_note(attempt, m_policy.max_attempts, delay));
    m_clock.sleep_for(delay);
  }
}

Status Registry::ping() {
  HttpRequest request;
  request.url = m_endpoint.base_url + "/v2/";
  auto response = call(request, Retry::yes);
  if (!response) return fail(response.error());
  if (response->status == 200) return {};
  if (response->status == 404)
    return fail(ErrorKind::permanent, "registry " + m_endpoint.display() + ": no OCI distribution API at /v2/");
  return fail(status_error(*response, "GET /v2/"));
}

Result<bool> Registry::has_blob(const Digest& digest) {
  ++m_counters.blob_heads;
  HttpRequest request;
  request.method = "HEAD";
  request.url = url("/blobs/" + digest.str());
  request.follow_redirects = true;
  auto response = call(request, Retry::yes);
  if (!response) return fail(response.error());
  if (response->status == 200) return true;
  if (response->status == 404) return false;
  return fail(status_error(*response, "HEAD blob " + digest.short_str()));
}

Result<std::string> Registry::start_upload(const std::string& query) {
  HttpRequest request;
  request.method = "POST";
  request.url = url("/blobs/uploads/" + query);
  auto response = call(request, Retry::yes);
  if (!response) return fail(response.error());
  if (response->status == 201) return std::string();  // mounted
  if (response->status != 202) return fail(status_error(*response, "POST blob upload"));
  auto location = response->header("Location");
  if (!location || location->empty())
    return fail(ErrorKind::permanent, "registry " + m_endpoint.display() + ": upload started without a Location");
  return upload_location(request.url, *location);
}

Result<std::string> Registry::upload_location(const std::string& base, const std::string& location) const {
  std::string resolved = resolve_url(base, location);
  auto origin = parse_url_origin(resolved);
  if (!origin) return fail(ErrorKind::permanent, "registry " + m_endpoint.display() + ": upload Location is not an http(s) URL");
  // An HTTPS registry that hands out a plain-HTTP upload URL would have the
  // image sent in the clear; refuse rather than downgrade.
  if (origin->scheme != "https" && url_origin(m_endpoint.base_url).starts_with("https://"))
    return fail(ErrorKind::permanent, "registry " + m_endpoint.display() + ": upload Location " + url_origin(resolved) +
                                          " is plain HTTP while the registry is HTTPS; refusing to send the image unencrypted");
  return resolved;
}

void Registry::cancel_upload(const std::string& location) {
  HttpRequest request;
  request.method = "DELETE";
  request.url = location;
  // Best effort: an abandoned session expires on the registry anyway.
  (void)call(request, Retry::no);
}

Status Registry::check_push() {
  auto location = start_upload();
  if (!location) return fail(location.error());
  if (!location->empty()) cancel_upload(*location);
  return {};
}

Result<bool> Registry::mount_blob(const Digest& digest, const std::string& from_repository) {
  auto location = start_upload("?mount=" + percent_encode(digest.str()) + "&from=" + percent_encode(from_repository));
  if (!location) return fail(location.error());
  if (location->empty()) {
    ++m_counters.blob_mounts;
    return true;
  }
  cancel_upload(*location);
  return false;
}

Status Registry::upload_blob(const Digest& digest, uint64_t size, ByteSource& body) {
  auto location = start_upload();
  if (!location) return fail(location.error());
  HttpRequest put;
  put.method = "PUT";
  put.url = add_query(*location, "digest", digest.str());
  put.headers.emplace_back("Content-Type", "application/octet-stream");
  put.body = &body;
  put.body_size = size;
  auto response = call(put, Retry::no);
  if (!response) {
    cancel_upload(*location);
    return fail(response.error());
  }
  if (response->status != 201) {
    cancel_upload(*location);
    return fail(status_error(*response, "PUT blob " + digest.short_str()));
  }
  ++m_counters.blob_uploads;
  m_counters.bytes_uploaded += size;
  return {};
}

Status Registry::upload_blob_streamed(ByteSource& body, const std::function<Digest()>& digest_after) {
  auto location = start_upload();
  if (!location) return fail(location.error());
  HttpRequest patch;
  patch.method = "PATCH";
  patch.url = *location;
  patch.headers.emplace_back("Content-Type", "application/octet-stream");
  patch.body = &body;
  auto response = call(patch, Retry::no);
  if (!response || response->status != 202) {
    cancel_upload(*location);
    if (!response) return fail(response.error());
    return fail(status_error(*response, "PATCH blob upload"));
  }
  std::string next = *location;
  if (auto loc = response->header("Location"); loc && !loc->empty()) {
    auto resolved = upload_location(*location, *loc);
    if (!resolved) {
      cancel_upload(*location);
      return fail(resolved.error());
    }
    next = *resolved;
  }
  Digest digest = digest_after();
  HttpRequest put;
  put.method = "PUT";
  put.url = add_query(next, "digest", digest.str());
  auto done = call(put, Retry::no);
  if (!done || done->status != 201) {
    cancel_upload(next);
    if (!done) return fail(done.error());
    return fail(status_error(*done, "PUT blob " + digest.short_str()));
  }
  ++m_counters.blob_uploads;
  return {};
}

Result<std::optional<ManifestHead>> Registry::head_manifest(const std::string& reference) {
  HttpRequest request;
  request.method = "HEAD";
  request.url = url("/manifests/" + reference);
  request.headers.emplace_back("Accept", manifest_accept_header());
  auto response = call(request, Retry::yes);
  if (!response) return fail(response.error());
  if (response->status == 404) return std::optional<ManifestHead>();
  if (response->status != 200) return fail(status_error(*response, "HEAD manifest " + reference));
  auto digest_header = response->header("Docker-Content-Digest");
  if (!digest_header) return std::optional<ManifestHead>();  // cannot tell: treat as different
  auto digest = Digest::parse(*digest_header);
  if (!digest) return std::optional<ManifestHead>();
  return std::optional<ManifestHead>(ManifestHead{*digest, response->header("Content-Type").value_or("")});
}

Result<HttpResponse> Registry::send_manifest(const std::string& reference, const std::string& media_type,
                                             const std::string& body) {
  ++m_counters.manifest_puts;
  HttpRequest request;
  request.method = "PUT";
  request.url = url("/manifests/" + reference);
  request.headers.emplace_back("Content-Type", media_type);
  request.body_size = body.size();
  // Small body: retried here by re-sending from memory.
  for (int attempt = 1;; ++attempt) {
    MemorySource fresh(body);
    request.body = &fresh;
    auto response = call(request, Retry::no);
    bool again = attempt < m_policy.max_attempts &&
                 ((!response && response.error().retryable()) || (response && is_retryable_status(response->status)));
    if (again) {
      auto wait = backoff_delay(m_policy, attempt, m_rng);
      if (response) {
        if (auto ra = response->header("Retry-After"))
          if (auto w = parse_retry_after(*ra, m_clock.wall_now())) wait = *w;
      }
      std::string why = response ? "answered HTTP " + std::to_string(response->status) : response.error().message();
      spdlog::warn("registry {}: PUT manifest {} {} ({})", m_endpoint.display(), reference, why,
                   retry_note(attempt, m_policy.max_attempts, wait));
      m_clock.sleep_for(wait);
      continue;
    }
    if (!response) return fail(response.error().with_context("PUT manifest " + reference));
    if (response->status != 201) return fail(status_error(*response, "PUT manifest " + reference));
    Digest expected = Digest::of(body);
    if (auto got = response->header("Docker-Content-Digest"); got && *got != expected.str())
      return fail(ErrorKind::permanent, "registry " + m_endpoint.display() + ": stored manifest " + reference + " as " + *got +
                                            ", but sbpipe sent " + expected.str());
    return response;
  }
}

Status Registry::put_manifest(const std::string& reference, const std::string& media_type, const std::string& body) {
  auto response = send_manifest(reference, media_type, body);
  if (!response) return fail(response.error());
  return {};
}

Result<bool> Registry::put_referrer_manifest(const std::string& media_type, const std::string& body, const Digest& subject) {
  auto response = send_manifest(Digest::of(body).str(), media_type, body);
  if (!response) return fail(response.error());
  auto header = response->header("OCI-Subject");
  return header && *header == subject.str();
}

Result<std::optional<std::string>> Registry::get_referrers(const Digest& subject, const std::string& artifact_type) {
  HttpRequest request;
  request.url = url("/referrers/" + subject.str() + "?artifactType=" + percent_encode(artifact_type));
  request.headers.emplace_back("Accept", media_type::oci_index);
  auto response = call(request, Retry::yes);
  if (!response) return fail(response.error());
  // 404 is what distribution-spec 1.1 says; registries that predate it may
  // answer 405 for the unknown route.
  if (response->status == 404 || response->status == 405) return std::optional<std::string>();
  if (response->status != 200) return fail(status_error(*response, "GET referrers of " + subject.short_str()));
  return std::optional<std::string>(response->body);
}

Result<std::optional<FetchedManifest>> Registry::get_manifest(const std::string& reference) {
  HttpRequest request;
  request.url = url("/manifests/" + reference);
  request.headers.emplace_back("Accept", manifest_accept_header());
  auto response = call(request, Retry::yes);
  if (!response) return fail(response.error());
  if (response->status == 404) return std::optional<FetchedManifest>();
  if (response->status != 200) return fail(status_error(*response, "GET manifest " + reference));
  FetchedManifest m{response->header("Content-Type").value_or(""), response->body, Digest::of(response->body)};
  if (auto asked = Digest::parse(reference); asked && *asked != m.digest)
    return fail(ErrorKind::permanent,
                "registry " + m_endpoint.display() + ": manifest " + reference + " has content " + m.digest.str());
  return std::optional<FetchedManifest>(std::move(m));
}

Status Registry::get_blob(const Digest& digest, const std::function<Status(std::span<const char>)>& sink,
                          std::optional<uint64_t> size) {
  Sha256 hash;
  uint64_t received = 0;
  HttpRequest request;
  request.url = url("/blobs/" + digest.str());
  request.follow_redirects = true;
  request.on_body = [&](std::span<const char> chunk) -> Status {
    // What the descriptor says comes first: a body longer than its size is
    // not read on to the end before the digest could fail it.
    if (size && received + chunk.size() > *size)
      return fail(ErrorKind::invalid_input, "registry " + m_endpoint.display() + ": blob " + digest.short_str() +
                                                " is larger than the " + std::to_string(*size) +
                                                " bytes its descriptor gives; not read further");
    received += chunk.size();
    hash.update(chunk);
    return sink(chunk);
  };
  auto response = call(request, Retry::no);
  if (!response) return fail(response.error().with_context("GET blob " + digest.short_str()));
  if (response->status != 200) return fail(status_error(*response, "GET blob " + digest.short_str()));
  if (size && received != *size)
    return fail(ErrorKind::invalid_input, "registry " + m_endpoint.display() + ": blob " + digest.short_str() + " has " +
                                              std::to_string(received) + " bytes, not the " + std::to_string(*size) +
                                              " its descriptor gives");
  if (std::string got = "sha256:" + hash.finish_hex(); got != digest.str())
    return fail(ErrorKind::invalid_input,
                "registry " + m_endpoint.display() + ": blob " + digest.short_str() + " has content " + got);
  return {};
}

void Registry::set_deadline(std::optional<std::chrono::steady_clock::time_point> deadline, std::string what) {
  m_deadline = deadline;
  m_deadline_what = what.empty() ? "the request" : std::move(what);
}

Result<std::vector<std::string>> Registry::list_tags() {
  std::vector<std::string> tags;
  std::string next = url("/tags/list?n=1000");
  for (int page = 0; page < 100 && !next.empty(); ++page) {
    HttpRequest request;
    request.url = next;
    auto response = call(request, Retry::yes);
    if (!response) return fail(response.error());
    if (response->status == 404) return tags;  // no such repository yet
    if (response->status != 200) return fail(status_error(*response, "GET tags/list"));
    auto j = nlohmann::json::parse(response->body, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      return fail(ErrorKind::permanent, "registry " + m_endpoint.display() + ": tags/list is not a JSON object");
    if (j.contains("tags") && j["tags"].is_array())
      for (const auto& t : j["tags"])
        if (t.is_string()) tags.push_back(t.get<std::string>());
    // Distribution pages with a Link header: <path?n=..&last=..>; rel="next".
    next.clear();
    if (auto link = response->header("Link")) {
      auto open = link->find('<'), close = link->find('>');
      if (open != std::string::npos && close != std::string::npos && close > open)
        next = resolve_url(request.url, link->substr(open + 1, close - open - 1));
    }
  }
  return tags;
}

}  // namespace sbpipe

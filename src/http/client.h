#pragma once
// The HTTP seam. Everything that talks HTTP (registry, GitHub, Kubernetes)
// goes through HttpClient; the only implementation that touches libcurl is
// made by make_curl_client(). Tests pass hand-written fakes.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/stream.h"

namespace sbpipe {

using Headers = std::vector<std::pair<std::string, std::string>>;

// Case-insensitive look-up of the first header called `name`.
std::optional<std::string> find_header(const Headers& headers, std::string_view name);

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  Headers headers;
  // Streamed request body (not owned); nullptr for none.
  ByteSource* body = nullptr;
  // Content-Length of body; with a body and no size the body is sent chunked.
  std::optional<uint64_t> body_size;
  // Follow 3xx redirects (downloads only; uploads never follow).
  bool follow_redirects = false;
  // Response bodies are kept in memory up to this size; larger is an error,
  // unless on_body is set, which then receives the body instead.
  size_t max_response_body = 4 << 20;
  std::function<Status(std::span<const char>)> on_body;
  // The whole request, this one's own bound (as HttpOptions::total_timeout;
  // the shorter wins); 0 = none.
  std::chrono::milliseconds timeout{0};
};

struct HttpResponse {
  long status = 0;
  Headers headers;
  std::string body;
  std::string url;  // the final URL (after redirects)
  std::optional<std::string> header(std::string_view name) const { return find_header(headers, name); }
};

class HttpClient {
public:
  virtual ~HttpClient() = default;
  // Sends one request. Any HTTP status is a success here; errors are
  // transport failures (transient/timeout), TLS or URL problems (permanent),
  // or the body source's own error, returned unchanged.
  // Not thread-safe: use one client per thread.
  virtual Result<HttpResponse> send(const HttpRequest& request) = 0;
};

struct HttpOptions {
  std::string ca_file;          // extra CA bundle; empty = system default
  std::string ca_pem;           // CA certificates in memory (kubeconfig data); replaces the bundle
  std::string client_cert_pem;  // TLS client certificate and key, in memory
  std::string client_key_pem;
  bool insecure_skip_verify = false;
  std::chrono::milliseconds total_timeout{0};  // whole request; 0 = none (long uploads)
  std::chrono::seconds connect_timeout{15};
  std::chrono::seconds stall_timeout{60};  // abort when under 1 KiB/s for this long
  std::string user_agent = "sbpipe/" SBPIPE_VERSION;
};

std::unique_ptr<HttpClient> make_curl_client(const HttpOptions& options);

}  // namespace sbpipe

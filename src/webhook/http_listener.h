#pragma once
// The receiver's HTTP/1.1 listener: Boost.Beast over Asio, the only file that
// includes them (webhook/http_listener.cpp). It replaced cpp-httplib 0.11,
// whose thread-per-connection server has no connection cap, no deadline over
// a whole request, no limit on chunked bodies and a listen backlog of 5.
//
// What it promises, per connection:
// - Event-driven: a connection costs a socket and a small buffer, not a
//   thread, so slow or idle clients never hold up others.
// - Deadlines: the first byte of a request within idle_timeout of the
//   previous answer (request_timeout on a new connection); header and body
//   within request_timeout of that first byte (a total, not per read: a
//   client trickling one byte a second is cut off); the answer written
//   within write_timeout. A TLS handshake gets request_timeout.
// - At most max_connections open. A new connection beyond that closes the
//   connection waiting longest that is idle or has not sent its whole
//   request head, else one whose body arrives slower than 8 KiB/s (over at
//   least a second); never one whose body arrives faster, nor one whose
//   request is being handled or answered. When none may be closed, the new
//   one is. No lock is held while a connection is destroyed, so connection
//   churn at the cap cannot wedge the listener (issue 30).
// - Refused before any handler sees the request, with a JSON error and the
//   connection closed: header larger than max_header_bytes (431), a body
//   larger than max_body, by Content-Length or while reading a chunked one
//   (413), any Content-Encoding but identity (415: nothing is decompressed),
//   a Transfer-Encoding other than chunked (501), unknown path (404) or
//   method (405), malformed HTTP (400). Handlers get the raw body bytes.
// - Keep-alive without a request count limit; "Expect: 100-continue" is
//   answered once the header passed the checks.
// Thread safety: create/bind/serve from one thread; stop() from any thread.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "http/client.h"

namespace sbpipe {

struct ListenerLimits {
  size_t max_body = 25u << 20;
  size_t max_header_bytes = 64u << 10;
  int max_connections = 1024;
  std::chrono::milliseconds idle_timeout{5000};
  std::chrono::milliseconds request_timeout{10000};
  std::chrono::milliseconds write_timeout{10000};
  int backlog = 4096;         // the kernel caps it at net.core.somaxconn
  int io_threads = 0;         // 0: one per core
  int blocking_threads = 32;  // for run_blocking()
};

struct ServerRequest {
  std::string method;
  std::string path;  // without the query
  Headers headers;
  std::string body;  // the raw bytes received, never decoded
  std::string header(std::string_view name) const { return find_header(headers, name).value_or(""); }
};

struct ServerResponse {
  int status = 200;
  std::string content_type = "text/plain";
  std::string body;
};

// Answers a request; call it exactly once, from any thread.
using Reply = std::function<void(ServerResponse)>;
// Runs on an I/O thread and must not block: slow work goes to run_blocking().
using RequestHandler = std::function<void(ServerRequest& request, Reply reply)>;

struct Route {
  std::string method;
  std::string path;
  RequestHandler handler;
};

// A request the listener answered itself (see the list above).
struct Refusal {
  std::string method;
  std::string path;  // "" when the request line could not be read
  int status = 0;
  std::string reason;
};

struct ListenerCounters {
  uint64_t accepted = 0;
  uint64_t evicted = 0;       // closed to make room for a newer connection
  uint64_t refused_full = 0;  // closed at once: every connection was busy
  uint64_t timed_out = 0;     // a deadline passed
  int64_t open = 0;
};

struct ListenerTls {
  std::string cert_pem;  // certificate chain
  std::string key_pem;
};

class HttpListener {
public:
  // config error for an unusable certificate or key.
  static Result<std::unique_ptr<HttpListener>> create(ListenerLimits limits, std::vector<Route> routes,
                                                      std::optional<ListenerTls> tls,
                                                      std::function<void(const Refusal&)> on_refused);
  ~HttpListener();

  // Binds and listens with limits.backlog; returns the bound port (useful
  // with port 0). io error when the address is taken or invalid.
  Result<int> bind(const std::string& host, int port);
  // Serves until stop(); returns once requests in flight were answered and
  // blocking work has finished.
  Status serve();
  // Stops accepting, closes idle connections, lets requests in flight
  // finish (each answer then closes its connection).
  void stop();
  // Runs `work` on the blocking pool (limits.blocking_threads).
  void run_blocking(std::function<void()> work);

  ListenerCounters counters() const;
  const ListenerLimits& limits() const;

private:
  struct Impl;
  explicit HttpListener(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

}  // namespace sbpipe

#pragma once
// `sbpipe serve`: the GitHub webhook receiver.
//   POST <path>   the delivery decision (webhook/decision.h): verify
//                 X-Hub-Signature-256 over the raw body (401 before
//                 any parsing) → ping 200 → filter (202 with the reason when
//                 ignored, 400 for malformed JSON) → submit: 201 with the
//                 Workflow's name, 200 "already submitted" on 409, 503 when
//                 the submission failed (GitHub shows the delivery as failed
//                 and it can be redelivered). Bodies over the limit: 413.
//                 A withdrawal (unpublished, deleted) stops the release's
//                 runs: 200 naming them, 202 when none was queued or
//                 running, 503 when stopping failed.
//   GET /healthz  the process is alive.
//   GET /readyz   the submitter can submit (Kubernetes API reachable and
//                 permitted), as last checked by a thread of its own
//                 (webhook/readiness_check.h): answered at once, 503
//                 with no detail when not ready (the reason is logged).
//   GET /metrics  Prometheus text, with the listener's connection counters.
// The HTTP side is webhook/http_listener.h: bodies over the limit get 413
// while they are read (chunked too), compressed bodies 415, and slow or
// idle clients are cut off by deadlines and a connection cap, so the probes
// keep answering under load. Signature, ping and filter run on an I/O
// thread (CPU only); submissions, which call the Kubernetes API, run on
// `threads` blocking threads.
// One log line per delivery (delivery id, event, action, repo, tag,
// outcome), with delivery and event "-" until the signature verified;
// never the body or a secret. stop() stops accepting and lets requests in
// flight finish.

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "kube/workflow.h"
#include "webhook/decision.h"
#include "webhook/event.h"
#include "webhook/metrics.h"

namespace sbpipe {

struct ServerConfig {
  std::string host = "0.0.0.0";
  int port = 8080;
  std::string path = "/webhook";
  std::vector<std::string> secrets;
  std::string tls_cert_file;
  std::string tls_key_file;
  size_t max_body = 25u << 20;
  int threads = 32;            // blocking threads: submissions
  int max_connections = 1024;  // see ListenerLimits
  int io_threads = 0;          // 0: one per core
  std::chrono::milliseconds request_timeout{10000};
  std::chrono::milliseconds idle_timeout{5000};
};

class WebhookServer {
public:
  // config error for bad TLS files or no secret.
  static Result<std::unique_ptr<WebhookServer>> create(ServerConfig config, EventFilter filter, Submitter& submitter);
  ~WebhookServer();

  // Binds; returns the bound port (useful with port 0). io error when taken.
  Result<int> bind();
  // Serves until stop(); returns after requests in flight were answered.
  Status serve();
  // Thread-safe and async-signal-unsafe: call it from a normal thread.
  void stop();
  // The listener's limits after start-up adjustments (the open-file limit
  // may lower max_connections).
  int max_connections() const;

  WebhookMetrics& metrics() { return m_metrics; }

private:
  struct Impl;
  WebhookServer(ServerConfig config, EventFilter filter, Submitter& submitter);
  std::unique_ptr<Impl> m_impl;
  WebhookMetrics m_metrics;
};

}  // namespace sbpipe

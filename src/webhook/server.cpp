#include "webhook/server.h"

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>

#include "core/file.h"
#include "core/log.h"
#include "core/redact.h"
#include "webhook/http_listener.h"
#include "webhook/readiness_check.h"

namespace sbpipe {

struct WebhookServer::Impl {
  ServerConfig config;
  EventFilter filter;
  Submitter& submitter;
  std::unique_ptr<HttpListener> listener;
  ReadinessCheck readiness;

  Impl(ServerConfig c, EventFilter f, Submitter& s)
      : config(std::move(c)), filter(std::move(f)), submitter(s), readiness([&s] { return s.ready(); }) {}
};

namespace {

using Steady = std::chrono::steady_clock;

// One delivery's log line: when it began and how far it got.
struct Delivery {
  Steady::time_point start = Steady::now();
  DeliveryFacts facts;
};

ServerResponse json_response(int status, const nlohmann::json& body) {
  return ServerResponse{status, "application/json", body.dump() + "\n"};
}

void log_delivery(const Delivery& d, int status) {
  double ms = std::chrono::duration<double, std::milli>(Steady::now() - d.start).count();
  const DeliveryFacts& f = d.facts;
  log_event(LogLevel::info, "webhook delivery",
            {{"delivery", f.delivery},
             {"event", f.event},
             {"action", f.action},
             {"repo", f.repo},
             {"tag", f.tag},
             {"outcome", f.outcome},
             {"status", status},
             {"ms", std::round(ms * 10) / 10}},
            LogText::fields);
}

// The listener's own refusals of webhook requests, as outcomes.
std::string refusal_outcome(int status) {
  switch (status) {
  case 413: return "too_large";
  case 415: return "encoded";
  case 431: return "header_too_large";
  case 501: return "transfer_encoding";
  default: return "bad_request";
  }
}

Result<std::optional<ListenerTls>> load_tls(const ServerConfig& config) {
  if (config.tls_cert_file.empty() && config.tls_key_file.empty()) return std::optional<ListenerTls>();
  if (config.tls_cert_file.empty() || config.tls_key_file.empty())
    return fail(ErrorKind::config, "TLS needs both a certificate and a key file");
  ListenerTls tls;
  auto cert = read_small_file(config.tls_cert_file);
  if (!cert) return fail(ErrorKind::config, "TLS certificate file: " + cert.error().message());
  auto key = read_small_file(config.tls_key_file, 64 << 10);
  if (!key) return fail(ErrorKind::config, "TLS key file: " + key.error().message());
  tls.cert_pem = std::move(*cert);
  tls.key_pem = std::move(*key);
  return std::optional<ListenerTls>(std::move(tls));
}

}  // namespace

WebhookServer::WebhookServer(ServerConfig config, EventFilter filter, Submitter& submitter)
    : m_impl(std::make_unique<Impl>(std::move(config), std::move(filter), submitter)) {}

WebhookServer::~WebhookServer() = default;

Result<std::unique_ptr<WebhookServer>> WebhookServer::create(ServerConfig config, EventFilter filter, Submitter& submitter) {
  if (config.secrets.empty())
    return fail(ErrorKind::config, "no webhook secret (--webhook-secret-file or SBPIPE_WEBHOOK_SECRET)");
  auto tls = load_tls(config);
  if (!tls) return fail(tls.error());
  std::unique_ptr<WebhookServer> self(new WebhookServer(std::move(config), std::move(filter), submitter));
  Impl& impl = *self->m_impl;
  WebhookMetrics& metrics = self->m_metrics;
  // The routes need the listener (for run_blocking and its counters), which
  // needs the routes: they reach it through this slot, filled in below and
  // read only once serving has started.
  auto slot = std::make_shared<HttpListener*>(nullptr);

  std::vector<Route> routes;
  routes.push_back({"GET", "/healthz", [](ServerRequest&, Reply reply) { reply(ServerResponse{200, "text/plain", "ok\n"}); }});
  routes.push_back({"GET", "/readyz", [&impl](ServerRequest&, Reply reply) {
                      // The last result of the readiness thread: no probe
                      // waits for the Kubernetes API, and the reason stays in
                      // the log (webhook/readiness_check.h).
                      switch (impl.readiness.current()) {
                      case Readiness::ready: return reply(ServerResponse{200, "text/plain", "ready\n"});
                      case Readiness::unknown:
                        return reply(ServerResponse{503, "text/plain", "not ready: the first check is still running\n"});
                      case Readiness::not_ready: break;
                      }
                      reply(ServerResponse{503, "text/plain", "not ready (the receiver's log says why)\n"});
                    }});
  routes.push_back({"GET", "/metrics", [&metrics, slot](ServerRequest&, Reply reply) {
                      auto c = (*slot)->counters();
                      std::string text = metrics.render();
                      text +=
                          "# HELP sbpipe_webhook_connections_open Connections open now.\n"
                          "# TYPE sbpipe_webhook_connections_open gauge\n"
                          "sbpipe_webhook_connections_open " +
                          std::to_string(c.open) +
                          "\n"
                          "# HELP sbpipe_webhook_connections_total Connections accepted.\n"
                          "# TYPE sbpipe_webhook_connections_total counter\n"
                          "sbpipe_webhook_connections_total " +
                          std::to_string(c.accepted) +
                          "\n"
                          "# HELP sbpipe_webhook_connections_closed_total Connections closed by the receiver's limits.\n"
                          "# TYPE sbpipe_webhook_connections_closed_total counter\n"
                          "sbpipe_webhook_connections_closed_total{reason=\"evicted\"} " +
                          std::to_string(c.evicted) +
                          "\n"
                          "sbpipe_webhook_connections_closed_total{reason=\"full\"} " +
                          std::to_string(c.refused_full) +
                          "\n"
                          "sbpipe_webhook_connections_closed_total{reason=\"timeout\"} " +
                          std::to_string(c.timed_out) + "\n";
                      reply(ServerResponse{200, "text/plain; version=0.0.4; charset=utf-8", std::move(text)});
                    }});
  routes.push_back(
      {"POST", impl.config.path, [&impl, &metrics, slot](ServerRequest& req, Reply reply) {
         // The decision is webhook/decision.h's; here it is put on
         // the wire, counted and logged, before the answer leaves
         // (a client that reads /metrics next sees its delivery).
         auto start = Steady::now();
         auto done = [start, &metrics, reply](const DeliveryFacts& facts, DeliveryAct act, const DeliveryAnswer& answer) {
           metrics.observe_latency(std::chrono::duration<double>(Steady::now() - start).count());
           metrics.count_delivery(facts.event, facts.action, facts.outcome);
           if (!answer.failure.empty())
             log_event(LogLevel::warn,
                       "delivery=" + facts.delivery + " " + (act == DeliveryAct::withdraw ? "withdrawal" : "submission") +
                           " failed: " + answer.failure,
                       {{"delivery", facts.delivery},
                        {"act", act == DeliveryAct::withdraw ? "withdrawal" : "submission"},
                        {"outcome", "failed"},
                        {"error", answer.failure}});
           log_delivery(Delivery{start, facts}, answer.status);
           reply(json_response(answer.status, answer.body));
         };
         DeliveryHeaders headers{req.header("X-Hub-Signature-256"), req.header("X-GitHub-Delivery"),
                                 req.header("X-GitHub-Event")};
         auto screened = std::make_shared<ScreenedDelivery>(screen_delivery(impl.config.secrets, impl.filter, headers, req.body));
         if (screened->answer) return done(screened->facts, screened->act, *screened->answer);
         // Submitting and withdrawing call the Kubernetes API or
         // the queue: a blocking thread.
         (*slot)->run_blocking([&impl, &metrics, screened, done] {
           auto answer = act_on_delivery(*screened, impl.submitter);
           if (screened->act == DeliveryAct::submit) metrics.count_submission(screened->facts.outcome);
           done(screened->facts, screened->act, answer);
         });
       }});

  ListenerLimits limits;
  limits.max_body = impl.config.max_body;
  limits.max_connections = impl.config.max_connections;
  limits.request_timeout = impl.config.request_timeout;
  limits.idle_timeout = impl.config.idle_timeout;
  limits.blocking_threads = impl.config.threads;
  limits.io_threads = impl.config.io_threads;
  std::string webhook_path = impl.config.path;
  auto on_refused = [&metrics, webhook_path](const Refusal& r) {
    if (r.path != webhook_path) return spdlog::debug("refused {} {}: HTTP {} {}", r.method, r.path, r.status, r.reason);
    Delivery d;
    d.facts.outcome = refusal_outcome(r.status);
    metrics.count_delivery("", "", d.facts.outcome);
    log_delivery(d, r.status);
  };
  auto listener_made = HttpListener::create(limits, std::move(routes), std::move(*tls), std::move(on_refused));
  if (!listener_made) return fail(listener_made.error());
  impl.listener = std::move(*listener_made);
  *slot = impl.listener.get();
  return self;
}

Result<int> WebhookServer::bind() { return m_impl->listener->bind(m_impl->config.host, m_impl->config.port); }

Status WebhookServer::serve() {
  m_impl->readiness.start();
  auto served = m_impl->listener->serve();
  m_impl->readiness.stop();
  return served;
}

void WebhookServer::stop() { m_impl->listener->stop(); }

int WebhookServer::max_connections() const { return m_impl->listener->limits().max_connections; }

}  // namespace sbpipe

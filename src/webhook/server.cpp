#include "webhook/server.h"

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>

#include "core/redact.h"
#include "webhook/signature.h"

namespace sbpipe {

struct WebhookServer::Impl {
  ServerConfig config;
  EventFilter filter;
  Submitter& submitter;
  std::unique_ptr<httplib::Server> server;

  Impl(ServerConfig c, EventFilter f, Submitter& s) : config(std::move(c)), filter(std::move(f)), submitter(s) {}
};

namespace {

void answer(httplib::Response& res, int status, nlohmann::json body) {
  res.status = status;
  res.set_content(body.dump() + "\n", "application/json");
}

} // namespace

WebhookServer::WebhookServer(ServerConfig config, EventFilter filter, Submitter& submitter)
    : m_impl(std::make_unique<Impl>(std::move(config), std::move(filter), submitter)) {}

WebhookServer::~WebhookServer() = default;

Result<std::unique_ptr<WebhookServer>> WebhookServer::create(ServerConfig config, EventFilter filter, Submitter& submitter) {
  if (config.secrets.empty()) return fail(ErrorKind::config, "no webhook secret (--webhook-secret-file or SBPIPE_WEBHOOK_SECRET)");
  std::unique_ptr<httplib::Server> server;
  if (!config.tls_cert_file.empty() || !config.tls_key_file.empty()) {
    if (config.tls_cert_file.empty() || config.tls_key_file.empty())
      return fail(ErrorKind::config, "TLS needs both a certificate and a key file");
    for (const auto& f : {config.tls_cert_file, config.tls_key_file})
      if (!std::filesystem::exists(f)) return fail(ErrorKind::config, "TLS file " + f + ": no such file");
    auto tls = std::make_unique<httplib::SSLServer>(config.tls_cert_file.c_str(), config.tls_key_file.c_str());
    if (!tls->is_valid()) return fail(ErrorKind::config, "TLS certificate or key unusable: " + config.tls_cert_file);
    server = std::move(tls);
  } else {
    server = std::make_unique<httplib::Server>();
  }
  std::unique_ptr<WebhookServer> self(new WebhookServer(std::move(config), std::move(filter), submitter));
  self->m_impl->server = std::move(server);
  auto& svr = *self->m_impl->server;
  Impl& impl = *self->m_impl;
  WebhookMetrics& metrics = self->m_metrics;
  int threads = impl.config.threads;
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  svr.set_payload_max_length(impl.config.max_body);
  svr.set_read_timeout(std::chrono::seconds(10));
  svr.set_write_timeout(std::chrono::seconds(10));
  svr.set_keep_alive_timeout(5);
  svr.set_tcp_nodelay(true);  // small JSON answers: no Nagle delay on keep-alive connections

  svr.Get("/healthz", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok\n", "text/plain"); });
  svr.Get("/readyz", [&impl](const httplib::Request&, httplib::Response& res) {
    auto ready = impl.submitter.ready();
    if (ready) return res.set_content("ready\n", "text/plain");
    res.status = 503;
    res.set_content(redact(ready.error().message()) + "\n", "text/plain");
  });
  svr.Get("/metrics", [&metrics](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics.render(), "text/plain; version=0.0.4; charset=utf-8");
  });

  svr.Post(impl.config.path, [&impl, &metrics](const httplib::Request& req, httplib::Response& res) {
    auto start = std::chrono::steady_clock::now();
    std::string delivery = req.get_header_value("X-GitHub-Delivery").substr(0, 64);
    std::string event = req.get_header_value("X-GitHub-Event").substr(0, 64);
    std::string action, repo, tag, outcome;
    auto done = [&](int status, nlohmann::json body) {
      answer(res, status, std::move(body));
      double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      metrics.observe_latency(seconds);
      metrics.count_delivery(outcome == "unauthorized" ? "" : event, action, outcome);
      spdlog::info("delivery={} event={} action={} repo={} tag={} outcome={} status={} ms={:.1f}", delivery.empty() ? "-" : delivery,
                   event.empty() ? "-" : event, action.empty() ? "-" : action, repo.empty() ? "-" : repo, tag.empty() ? "-" : tag,
                   outcome, status, seconds * 1000);
    };
    if (!verify_webhook_signature(impl.config.secrets, req.body, req.get_header_value("X-Hub-Signature-256"))) {
      outcome = "unauthorized";
      event.clear();  // unverified: not trusted even for the log
      return done(401, {{"status", "unauthorized"}, {"error", "X-Hub-Signature-256 missing or wrong"}});
    }
    if (event == "ping") {
      outcome = "ping";
      return done(200, {{"status", "pong"}});
    }
    auto decision = impl.filter.decide(event, req.body);
    if (!decision) {
      outcome = "malformed";
      return done(400, {{"status", "malformed"}, {"error", decision.error().message()}});
    }
    action = decision->action;
    repo = decision->release.repo;
    tag = decision->release.tag;
    if (decision->withdraw) {
      auto withdrawn = impl.submitter.withdraw(decision->release, WorkflowOrigin{delivery, action});
      if (!withdrawn) {
        outcome = "failed";
        spdlog::warn("delivery={} withdrawal failed: {}", delivery, withdrawn.error().message());
        return done(503, {{"status", "failed"}, {"error", redact(withdrawn.error().message())}});
      }
      outcome = withdrawn->stopped.empty() ? "ignored" : "withdrawn";
      if (withdrawn->stopped.empty())
        return done(202, {{"status", "ignored"}, {"reason", "no queued or running run of release " + tag}});
      return done(200, {{"status", "withdrawn"}, {"stopped", withdrawn->stopped}});
    }
    if (!decision->accepted) {
      outcome = "ignored";
      return done(202, {{"status", "ignored"}, {"reason", decision->reason}});
    }
    auto submitted = impl.submitter.submit(decision->release, WorkflowOrigin{delivery, action});
    if (!submitted) {
      outcome = "failed";
      metrics.count_submission("failed");
      spdlog::warn("delivery={} submission failed: {}", delivery, submitted.error().message());
      return done(503, {{"status", "failed"}, {"error", redact(submitted.error().message())}});
    }
    outcome = submitted->created ? "created" : "already_submitted";
    metrics.count_submission(outcome);
    if (submitted->created) return done(201, {{"status", "created"}, {"workflow", submitted->name}});
    done(200, {{"status", "already submitted"}, {"workflow", submitted->name}});
  });
  return self;
}

Result<int> WebhookServer::bind() {
  auto& svr = *m_impl->server;
  int port = m_impl->config.port == 0 ? svr.bind_to_any_port(m_impl->config.host)
                                      : (svr.bind_to_port(m_impl->config.host, m_impl->config.port) ? m_impl->config.port : -1);
  if (port <= 0)
    return fail(ErrorKind::io, "cannot listen on " + m_impl->config.host + ":" + std::to_string(m_impl->config.port));
  return port;
}

Status WebhookServer::serve() {
  if (!m_impl->server->listen_after_bind() && m_impl->server->is_running())
    return fail(ErrorKind::io, "the webhook server stopped unexpectedly");
  return {};
}

void WebhookServer::stop() { m_impl->server->stop(); }

} // namespace sbpipe

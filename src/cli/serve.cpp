// sbpipe serve [--config F] [--listen ADDR:PORT] [--webhook-secret-file F]... [--allow-repo OWNER/NAME]...
//              [--namespace NS] [--workflow-template NAME] [--executor argo|local] [--state-dir D]

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <pthread.h>
#include <csignal>
#include <thread>

#include "cli/app.h"
#include "cli/duration_flags.h"
#include "cli/kube_flags.h"
#include "cli/state_dir.h"
#include "core/clock.h"
#include "core/file.h"
#include "core/log.h"
#include "core/process_runner.h"
#include "core/redact.h"
#include "http/client.h"
#include "kube/config.h"
#include "oci/credentials.h"
#include "pipeline/config_check.h"
#include "pipeline/preflight.h"
#include "pipeline/run_config.h"
#include "pipeline/run_env.h"
#include "webhook/argo_submitter.h"
#include "webhook/local_executor.h"
#include "webhook/readiness.h"
#include "webhook/serve_config.h"

namespace sbpipe {
namespace {

struct ServeFlags {
  std::string config;
  std::string listen;
  std::string path;
  std::vector<std::string> secret_files;
  std::vector<std::string> allow_repos;
  std::string tag_pattern;
  std::string trigger;
  std::string namespace_name;
  std::string workflow_template;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string executor;
  std::string state_dir;
  int threads = 0;
  int max_connections = 0;
  int io_threads = 0;
  int request_timeout_ms = 0;
  int idle_timeout_ms = 0;
  int deadline_ms = 8000;
  KubeSelection kube;
};

Result<ServeSettings> settings_from(const ServeFlags& flags) {
  ServeSettings s;
  if (!flags.config.empty()) {
    if (auto st = check_config_file(flags.config); !st) return fail(st.error());
    auto loaded = load_serve_config(flags.config);
    if (!loaded) return fail(loaded.error());
    s = std::move(*loaded);
  }
  if (!flags.listen.empty()) {
    if (auto st = parse_listen(flags.listen, s.server); !st) return fail(st.error());
  }
  if (!flags.path.empty()) s.server.path = flags.path;
  if (!flags.secret_files.empty()) s.secret_files = flags.secret_files;
  if (!flags.allow_repos.empty()) s.filter.allowed_repos = flags.allow_repos;
  if (!flags.tag_pattern.empty()) s.filter.tag_pattern = flags.tag_pattern;
  if (!flags.trigger.empty()) {
    if (flags.trigger != "prerelease" && flags.trigger != "draft")
      return fail(ErrorKind::usage, "--trigger must be prerelease or draft");
    s.filter.trigger = flags.trigger == "draft" ? Trigger::draft : Trigger::prerelease;
  }
  if (!flags.workflow_template.empty()) s.target.workflow_template = flags.workflow_template;
  if (!flags.tls_cert_file.empty()) s.server.tls_cert_file = flags.tls_cert_file;
  if (!flags.tls_key_file.empty()) s.server.tls_key_file = flags.tls_key_file;
  if (!flags.executor.empty()) s.executor = flags.executor;
  if (flags.threads > 0) s.server.threads = flags.threads;
  if (flags.max_connections > 0) s.server.max_connections = flags.max_connections;
  if (flags.io_threads > 0) s.server.io_threads = flags.io_threads;
  if (flags.request_timeout_ms > 0) s.server.request_timeout = std::chrono::milliseconds(flags.request_timeout_ms);
  if (flags.idle_timeout_ms > 0) s.server.idle_timeout = std::chrono::milliseconds(flags.idle_timeout_ms);
  if (s.executor != "argo" && s.executor != "local")
    return fail(ErrorKind::usage, "--executor '" + s.executor + "': expected argo or local");
  if (s.server.path.empty() || s.server.path.front() != '/') return fail(ErrorKind::usage, "webhook path must start with '/'");
  for (const auto& file : s.secret_files) {
    auto secret = read_secret_file(file, "webhook secret");
    if (!secret) return fail(secret.error());
    s.server.secrets.push_back(*secret);
  }
  if (auto env = process_getenv("SBPIPE_WEBHOOK_SECRET"); env && !env->empty()) {
    register_secret(*env);
    s.server.secrets.push_back(*env);
  }
  return s;
}

// The local executor runs `sbpipe run` (this very binary) with the same
// config file, in the state directory of the config's run: section (or
// --state-dir, or the default).
// The notifier of serve.notify_url(_file), or null when neither is set.
Result<std::shared_ptr<Notifier>> notifier_from(const ServeSettings& settings) {
  std::string url = settings.notify_url;
  if (!settings.notify_url_file.empty()) {
    auto read = read_secret_file(settings.notify_url_file, "serve.notify_url_file: notification URL");
    if (!read) return fail(read.error());
    url = *read;
  }
  if (url.empty()) return std::shared_ptr<Notifier>();
  if (!url.starts_with("https://") && !url.starts_with("http://"))
    return fail(ErrorKind::config, "serve.notify_url: expected an http:// or https:// URL");
  register_secret(url);  // Slack's and ntfy's URLs carry their token
  HttpOptions options;
  options.total_timeout = std::chrono::seconds(10);
  return std::shared_ptr<Notifier>(make_webhook_notifier(url, make_curl_client(options), real_clock()));
}

Result<std::unique_ptr<LocalExecutor>> open_local_executor(ServeFlags& flags, const ServeSettings& settings,
                                                           ProcessRunner& processes) {
  auto state = chosen_state_dir(flags.state_dir, flags.config);
  if (!state) return fail(state.error());
  flags.state_dir = state->string();
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return fail(ErrorKind::io, "cannot find this program's path: " + ec.message());
  std::vector<std::string> command{self.string(), "run", "--state-dir", flags.state_dir};
  if (!flags.config.empty()) command.insert(command.end(), {"--config", std::filesystem::absolute(flags.config).string()});
  // The runs log as serve does: serve relays each line (journald under the
  // unit), JSON records keeping their fields.
  if (current_log_format() == LogFormat::json) command.insert(command.end(), {"--log-format", "json"});
  auto notifier = notifier_from(settings);
  if (!notifier) return fail(notifier.error());
  LocalExecutorConfig config{flags.state_dir, command};
  config.notifier = std::move(*notifier);
  return LocalExecutor::open(std::move(config), processes, real_clock());
}

// The FAILed rows of service_checks, "check: detail; ...": those that may
// come and go while serve runs (the engine's daemon, free space) or the
// others (the configuration), as `transient` says.
std::string failed_rows(const std::vector<PreflightRow>& rows, bool transient) {
  std::string text;
  for (const auto& row : rows) {
    bool comes_and_goes = row.check == "imager engine" || row.check == "disk space";
    if (row.result == PreflightResult::fail && comes_and_goes == transient)
      text += (text.empty() ? "" : "; ") + row.check + ": " + row.detail;
  }
  return text;
}

// What every run of the local executor needs, checked at start as
// `sbpipe config check --run` checks it: a missing key, certificate or
// token stops serve here (every one named) instead of failing each run
// later; an engine or disk that is down makes it not ready (/readyz 503)
// until it is back, checked again at most every 30 s.
Status check_run_needs(const ServeFlags& flags, LocalExecutor& executor) {
  RunSettings settings;
  if (!flags.config.empty()) {
    auto loaded = load_run_config(flags.config);
    if (!loaded) return fail(loaded.error());
    settings = std::move(*loaded);
  }
  struct Probe {
    RunSettings settings;
    std::filesystem::path state;
    ChildProcesses processes;
    RegistryInstallers installers{real_clock()};
    std::vector<PreflightRow> rows() {
      return service_checks(settings, state, PreflightEnv{real_clock(), processes, installers});
    }
  };
  auto probe = std::make_shared<Probe>();
  probe->settings = std::move(settings);
  probe->state = flags.state_dir;
  auto rows = probe->rows();
  if (auto missing = failed_rows(rows, false); !missing.empty())
    return fail(ErrorKind::config,
                "what runs need is missing: " + missing + " (sbpipe config check --run --config FILE shows every check)");
  Status first;
  if (auto down = failed_rows(rows, true); !down.empty()) {
    spdlog::warn("not ready until this is back: {}", down);
    first = fail(ErrorKind::io, down);
  }
  executor.set_dependency_check(
      [probe]() -> Status {
        auto again = probe->rows();
        std::string problems = failed_rows(again, false);
        std::string down = failed_rows(again, true);
        if (!problems.empty() && !down.empty()) problems += "; ";
        problems += down;
        if (problems.empty()) return {};
        return fail(ErrorKind::io, problems);
      },
      std::move(first), std::chrono::seconds(30));
  return {};
}

Status run_serve(ServeFlags& flags) {
  auto settings = settings_from(flags);
  if (!settings) return fail(settings.error());
  auto filter = EventFilter::create(settings->filter);
  if (!filter) return fail(filter.error());
  ChildProcesses runs;  // the local executor's children (declared first: it outlives the executor)
  std::unique_ptr<Submitter> submitter;
  LocalExecutor* local = nullptr;
  std::string destination;
  if (settings->executor == "local") {
    auto executor = open_local_executor(flags, *settings, runs);
    if (!executor) return fail(executor.error());
    local = executor->get();
    destination = "runs on this machine (state " + flags.state_dir + ")";
    submitter = std::move(*executor);
  } else {
    auto kube = load_kube_config(process_getenv, flags.kube);
    if (!kube) return fail(kube.error());
    settings->target.namespace_name = workflow_namespace(flags.namespace_name, *settings, &*kube);
    destination = "Workflows through " + kube_destination(*kube) + " namespace " + settings->target.namespace_name +
                  " template " + settings->target.workflow_template;
    submitter = std::make_unique<ArgoSubmitter>(*kube, settings->target, std::chrono::milliseconds(flags.deadline_ms));
  }

  // SIGTERM/SIGINT are taken by a thread of their own (blocked here before
  // any server thread exists, so every thread inherits the mask).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A log line per delivery from the I/O threads: written by a thread of
  // its own (started here, after the mask, like every other thread).
  AsyncLogging async_logging;

  auto server = WebhookServer::create(settings->server, std::move(*filter), *submitter);
  if (!server) return fail(server.error());
  // After the server's own settings (TLS files, limits) are known good.
  if (local)
    if (auto st = check_run_needs(flags, *local); !st) return st;
  auto port = (*server)->bind();
  if (!port) return fail(port.error());
  spdlog::info("listening on {}:{}{} ({}, at most {} connections); accepted releases become {}", settings->server.host, *port,
               settings->server.path, settings->server.tls_cert_file.empty() ? "http" : "https", (*server)->max_connections(),
               destination);
  if (local) {
    (*server)->metrics().add_collector([local] { return local->metrics_text(); });
    local->start();
  }
  // The socket listens (bind() did listen()): connections made from now on
  // are answered, so a Type=notify unit may count as started.
  notify_ready("listening on " + settings->server.host + ":" + std::to_string(*port));
  std::thread stopper([&] {
    int received = 0;
    sigwait(&signals, &received);
    if (received == SIGTERM || received == SIGINT) {
      spdlog::info("signal {}: finishing requests in flight, then stopping", received);
      notify_stopping("finishing requests in flight");
    }
    (*server)->stop();
  });
  auto served = (*server)->serve();
  pthread_kill(stopper.native_handle(), SIGTERM);  // wakes the stopper if the server ended on its own
  stopper.join();
  if (local) local->stop();  // a run in progress is stopped and stays queued
  spdlog::info("stopped");
  return served;
}

}  // namespace

void add_serve(CLI::App& app, CommandAction& action) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* cmd = app.add_subcommand("serve", "Receive GitHub release webhooks and start one pipeline run per pre-release");
  cmd->add_option("--config", flags->config, "sbpipe YAML config; its serve: section is read (flags override it)")
      ->envname("SBPIPE_CONFIG");
  cmd->add_option("--listen", flags->listen, "HOST:PORT to listen on (default 0.0.0.0:8080)")->envname("SBPIPE_LISTEN");
  cmd->add_option("--webhook-path", flags->path, "Path of the webhook (default /webhook)");
  cmd->add_option("--webhook-secret-file", flags->secret_files,
                  "File holding the webhook secret (repeatable: two during a rotation); or env SBPIPE_WEBHOOK_SECRET");
  cmd->add_option("--allow-repo", flags->allow_repos, "OWNER/NAME whose releases start runs (repeatable; required)");
  cmd->add_option("--tag-pattern", flags->tag_pattern, "Regex a tag must match (default ^v\\d+\\.\\d+\\.\\d+.*$)");
  cmd->add_option("--trigger", flags->trigger,
                  "What starts a run (default prerelease; draft for repositories with immutable releases)")
      ->type_name("{prerelease,draft}");
  cmd->add_option("-n,--namespace", flags->namespace_name,
                  "Namespace of the Workflows (default: the config's, else the kubeconfig context's, else argo)")
      ->envname("SBPIPE_NAMESPACE");
  add_kube_flags(*cmd, flags->kube);
  cmd->add_option("--workflow-template", flags->workflow_template, "WorkflowTemplate to run (default talos-secureboot-build)")
      ->envname("SBPIPE_WORKFLOW_TEMPLATE");
  cmd->add_option("--tls-cert-file", flags->tls_cert_file, "Serve HTTPS with this certificate (PEM)");
  cmd->add_option("--tls-key-file", flags->tls_key_file, "... and this key");
  cmd->add_option("--executor", flags->executor,
                  "argo: create Argo Workflows through the Kubernetes API; local: queue `sbpipe run`s on this machine")
      ->type_name("{argo,local}");
  cmd->add_option("--state-dir", flags->state_dir, "local executor: the state directory (default: run.state_dir of --config)");
  cmd->add_option("--threads", flags->threads, "Threads for Kubernetes API calls: submissions (default 32)")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--max-connections", flags->max_connections,
                  "Open connections at most (default 1024); beyond it the oldest idle or slow one is closed")
      ->check(CLI::Range(8, 65536));
  cmd->add_option("--io-threads", flags->io_threads, "Threads serving connections (default: one per core)")
      ->check(CLI::Range(1, 64));
  add_duration_flag(*cmd,
                    DurationFlag{.name = "--request-timeout",
                                 .description = "Time a client has to send a whole request, header and body",
                                 .value = std::chrono::seconds(10),
                                 .legacy_ms_name = "--request-timeout-ms",
                                 .min = std::chrono::milliseconds(100),
                                 .max = std::chrono::minutes(10)},
                    [flags](std::chrono::milliseconds d) { flags->request_timeout_ms = static_cast<int>(d.count()); });
  add_duration_flag(*cmd,
                    DurationFlag{.name = "--idle-timeout",
                                 .description = "Keep-alive: time to the next request",
                                 .value = std::chrono::seconds(5),
                                 .legacy_ms_name = "--idle-timeout-ms",
                                 .min = std::chrono::milliseconds(100),
                                 .max = std::chrono::minutes(10)},
                    [flags](std::chrono::milliseconds d) { flags->idle_timeout_ms = static_cast<int>(d.count()); });
  add_duration_flag(*cmd,
                    DurationFlag{.name = "--api-deadline",
                                 .description = "Deadline of one Kubernetes API call (GitHub waits 10 s for an answer)",
                                 .value = std::chrono::milliseconds(flags->deadline_ms),
                                 .legacy_ms_name = "--api-deadline-ms",
                                 .min = std::chrono::milliseconds(100),
                                 .max = std::chrono::seconds(9)},
                    [flags](std::chrono::milliseconds d) { flags->deadline_ms = static_cast<int>(d.count()); });
  cmd->callback([flags, &action] { action = [flags] { return run_serve(*flags); }; });
}

}  // namespace sbpipe

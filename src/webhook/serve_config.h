#pragma once
// The `serve:` section of the sbpipe config file, merged with flags and
// the environment (flags override the file; SBPIPE_WEBHOOK_SECRET adds a
// secret given as a value, for Secrets mounted as environment variables).
//
//   serve:
//     listen: 0.0.0.0:8080
//     webhook_path: /webhook
//     webhook_secret_files: [/run/secrets/webhook/secret, /run/secrets/webhook/previous]
//     allow_repos: [owner/talos-build]
//     tag_pattern: '^v\d+\.\d+\.\d+.*$'
//     trigger: prerelease            # or draft
//     tls_cert_file: ...             # optional
//     tls_key_file: ...
//     threads: 8
//     executor: local                # or argo
//     notify_url_file: /run/credentials/sbpipe.service/notify-url   # or notify_url: https://...
//     kubernetes:
//       namespace: argo
//       workflow_template: talos-secureboot-build
//       parameters: {version: version, repo: repo, release_id: release-id, release_state: release-state}

#include <filesystem>
#include <string>
#include <vector>

#include "core/config_keys.h"
#include "kube/workflow.h"
#include "webhook/event.h"
#include "webhook/server.h"

namespace sbpipe {

struct ServeSettings {
  ServerConfig server;
  EventFilterConfig filter;
  WorkflowTarget target;
  std::vector<std::string> secret_files;
  std::string executor = "argo";
  // Where the local executor tells how each run ended (webhook/notifier.h):
  // the URL, or a file holding it (for URLs that carry a token). Empty: no
  // notifications.
  std::string notify_url;
  std::string notify_url_file;
  // serve.kubernetes.namespace was set: it then wins over the kubeconfig
  // context's namespace (a -n flag wins over both).
  bool namespace_configured = false;
};

Result<ServeSettings> parse_serve_config(std::string_view yaml, std::string_view label);
Result<ServeSettings> load_serve_config(const std::filesystem::path& path);
// The keys parse_serve_config reads, for the whole file's check (pipeline/config_check.h).
ConfigSection serve_config_section();

// "HOST:PORT" or ":PORT" (all addresses) into the server config.
Status parse_listen(std::string_view text, ServerConfig& server);

}  // namespace sbpipe

#pragma once
// The Kubernetes flags of the commands that create Workflows (serve,
// submit), named and behaving as kubectl's: --kubeconfig FILE (instead of
// KUBECONFIG), --context NAME (instead of current-context), and the
// namespace chosen as kubectl chooses it.

#include <string>

#include "kube/config.h"

namespace CLI {
class App;
}

namespace sbpipe {

struct ServeSettings;

// Adds --kubeconfig and --context to `cmd`, stored into `selection`.
void add_kube_flags(CLI::App& cmd, KubeSelection& selection);

// The Workflows' namespace: the -n flag, else the config file's
// serve.kubernetes.namespace, else the kubeconfig context's namespace
// (`context` may be null: none loaded), else the default (argo).
std::string workflow_namespace(const std::string& flag, const ServeSettings& settings, const KubeConfig* context);

// "kubeconfig FILES context NAME (server URL)" or "in-cluster (server URL)":
// where Workflows go, for start-up log lines.
std::string kube_destination(const KubeConfig& config);

}  // namespace sbpipe

#include "cli/kube_flags.h"

#include <CLI/CLI.hpp>

#include "webhook/serve_config.h"

namespace sbpipe {

void add_kube_flags(CLI::App& cmd, KubeSelection& selection) {
  cmd.add_option("--kubeconfig", selection.kubeconfig, "kubeconfig file to use (instead of KUBECONFIG, or ~/.kube/config)");
  cmd.add_option("--context", selection.context, "kubeconfig context to use (instead of its current-context)");
}

std::string workflow_namespace(const std::string& flag, const ServeSettings& settings, const KubeConfig* context) {
  if (!flag.empty()) return flag;
  if (settings.namespace_configured) return settings.target.namespace_name;
  if (context != nullptr && !context->namespace_name.empty()) return context->namespace_name;
  return settings.target.namespace_name;
}

std::string kube_destination(const KubeConfig& config) {
  if (config.context.empty()) return config.source + " (server " + config.server + ")";
  return "kubeconfig " + config.source + " context " + config.context + " (server " + config.server + ")";
}

}  // namespace sbpipe

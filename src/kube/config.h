#pragma once
// Where the Kubernetes API is and how to authenticate to it, from the
// in-cluster environment (service-account token, CA file and
// KUBERNETES_SERVICE_HOST/PORT) or from a kubeconfig (KUBECONFIG, else
// ~/.kube/config; current-context; token, token file, client certificate
// and key, CA as data or files, insecure-skip-tls-verify).

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "core/error.h"

namespace sbpipe {

struct KubeConfig {
  std::string server;  // "https://10.0.0.1:443"
  std::string ca_pem;  // empty: the system bundle
  bool insecure_skip_verify = false;
  std::string client_cert_pem;
  std::string client_key_pem;
  // The bearer token, read anew for every request (projected service-account
  // tokens rotate); empty function or empty token: none.
  std::function<Result<std::string>()> token;
  std::string namespace_name;  // the context's or pod's namespace; may be empty
  std::string source;          // "in-cluster" or the kubeconfig path, for messages
};

using Getenv = std::function<std::optional<std::string>(const char*)>;

// In-cluster configuration; `root` holds token, ca.crt and namespace.
Result<KubeConfig> load_in_cluster_config(const Getenv& getenv,
                                          const std::filesystem::path& root = "/var/run/secrets/kubernetes.io/serviceaccount");

// A kubeconfig file's current context (or `context` when given). Paths in
// it are relative to the file's directory.
Result<KubeConfig> load_kubeconfig(const std::filesystem::path& path, const std::string& context = "");

// In-cluster when KUBERNETES_SERVICE_HOST is set, else KUBECONFIG (the first
// file of a ':' list), else ~/.kube/config. config error naming what is
// missing otherwise.
Result<KubeConfig> load_kube_config(const Getenv& getenv);

}  // namespace sbpipe

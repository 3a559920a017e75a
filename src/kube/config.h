#pragma once
// Where the Kubernetes API is and how to authenticate to it, from the
// in-cluster environment (service-account token, CA file and
// KUBERNETES_SERVICE_HOST/PORT) or from kubeconfig files as kubectl reads
// them (k8s.io/client-go tools/clientcmd/loader.go, and `kubectl config
// view --help`): --kubeconfig alone, else the KUBECONFIG list (':'
// separated; missing files skipped), else ~/.kube/config. The list is
// merged: the first file to name a context, cluster or user wins that name
// whole, and current-context comes from the first file that sets it. Paths
// inside an entry are relative to the file that entry came from. Supported
// credentials: token, token file, client certificate and key, CA as data
// or files, insecure-skip-tls-verify.

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

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
  std::string source;          // "in-cluster" or the kubeconfig path(s), ':'-joined, for messages
  std::string context;         // the kubeconfig context used; empty in-cluster
};

// What the command line chose, as kubectl's flags of the same names.
struct KubeSelection {
  std::string kubeconfig;  // --kubeconfig FILE: this file alone (KUBECONFIG is not read)
  std::string context;     // --context NAME: this context instead of current-context
};

using Getenv = std::function<std::optional<std::string>(const char*)>;

// In-cluster configuration; `root` holds token, ca.crt and namespace.
Result<KubeConfig> load_in_cluster_config(const Getenv& getenv,
                                          const std::filesystem::path& root = "/var/run/secrets/kubernetes.io/serviceaccount");

// The merged kubeconfig `paths` (in order; a missing one is skipped unless
// it is the only one), at its current context or `context` when given.
// config error naming the files and what is missing (no file, no
// current-context, an unknown context, a cluster without a server).
Result<KubeConfig> load_kubeconfigs(const std::vector<std::filesystem::path>& paths, const std::string& context = "");
// One kubeconfig file (a missing file is a config error).
Result<KubeConfig> load_kubeconfig(const std::filesystem::path& path, const std::string& context = "");

// --kubeconfig when given; else in-cluster when KUBERNETES_SERVICE_HOST is
// set and no --context was given; else the KUBECONFIG list, else
// ~/.kube/config. config error naming what is missing otherwise.
Result<KubeConfig> load_kube_config(const Getenv& getenv, const KubeSelection& selection = {});

}  // namespace sbpipe

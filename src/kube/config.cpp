#include "kube/config.h"

#include <yaml-cpp/yaml.h>

#include "core/base64.h"
#include "core/file.h"
#include "core/redact.h"

namespace sbpipe {
namespace {

// A token file read for each request.
std::function<Result<std::string>()> token_file_reader(std::filesystem::path path) {
  return [path = std::move(path)]() -> Result<std::string> {
    auto token = read_secret_file(path, "Kubernetes token");
    if (!token) return fail(ErrorKind::auth, token.error().message());
    return token;
  };
}

Result<std::string> data_or_file(const YAML::Node& node, const char* data_key, const char* file_key,
                                 const std::filesystem::path& base, const std::string& label) {
  if (node[data_key]) {
    auto decoded = base64_decode(node[data_key].as<std::string>());
    if (!decoded) return fail(ErrorKind::config, label + ": " + data_key + " is not base64");
    return *decoded;
  }
  if (node[file_key]) {
    std::filesystem::path path = node[file_key].as<std::string>();
    if (path.is_relative()) path = base / path;
    auto text = read_small_file(path);
    if (!text) return fail(ErrorKind::config, label + ": " + file_key + " " + path.string() + ": cannot read");
    return *text;
  }
  return std::string();
}

const YAML::Node find_named(const YAML::Node& list, const std::string& name, const char* inner) {
  if (list && list.IsSequence())
    for (const auto& item : list)
      if (item["name"] && item["name"].as<std::string>() == name) return item[inner];
  return YAML::Node(YAML::NodeType::Undefined);
}

}  // namespace

Result<KubeConfig> load_in_cluster_config(const Getenv& getenv, const std::filesystem::path& root) {
  auto host = getenv("KUBERNETES_SERVICE_HOST");
  auto port = getenv("KUBERNETES_SERVICE_PORT");
  if (!host || host->empty()) return fail(ErrorKind::config, "in-cluster: KUBERNETES_SERVICE_HOST is not set");
  KubeConfig config;
  std::string h = *host;
  if (h.find(':') != std::string::npos) h = "[" + h + "]";  // IPv6
  config.server = "https://" + h + ":" + (port && !port->empty() ? *port : "443");
  auto ca = read_small_file(root / "ca.crt");
  if (!ca) return fail(ErrorKind::config, "in-cluster: " + (root / "ca.crt").string() + ": cannot read");
  config.ca_pem = *ca;
  if (!std::filesystem::exists(root / "token"))
    return fail(ErrorKind::config, "in-cluster: " + (root / "token").string() + ": no service-account token");
  config.token = token_file_reader(root / "token");
  if (auto ns = read_small_file(root / "namespace")) config.namespace_name = *ns;
  while (!config.namespace_name.empty() && std::isspace(static_cast<unsigned char>(config.namespace_name.back())))
    config.namespace_name.pop_back();
  config.source = "in-cluster";
  return config;
}

Result<KubeConfig> load_kubeconfig(const std::filesystem::path& path, const std::string& context_name) {
  std::string label = "kubeconfig " + path.string();
  auto text = read_small_file(path, 4 << 20);
  if (!text) return fail(ErrorKind::config, label + ": cannot read");
  try {
    YAML::Node root = YAML::Load(*text);
    std::string wanted =
        context_name.empty() && root["current-context"] ? root["current-context"].as<std::string>() : context_name;
    if (wanted.empty()) return fail(ErrorKind::config, label + ": no current-context");
    YAML::Node context = find_named(root["contexts"], wanted, "context");
    if (!context) return fail(ErrorKind::config, label + ": context '" + wanted + "' not found");
    std::string cluster_name = context["cluster"] ? context["cluster"].as<std::string>() : "";
    std::string user_name = context["user"] ? context["user"].as<std::string>() : "";
    YAML::Node cluster = find_named(root["clusters"], cluster_name, "cluster");
    if (!cluster || !cluster["server"]) return fail(ErrorKind::config, label + ": cluster '" + cluster_name + "' has no server");
    KubeConfig config;
    config.source = path.string();
    config.server = cluster["server"].as<std::string>();
    while (!config.server.empty() && config.server.back() == '/') config.server.pop_back();
    if (context["namespace"]) config.namespace_name = context["namespace"].as<std::string>();
    auto base = path.parent_path();
    auto ca = data_or_file(cluster, "certificate-authority-data", "certificate-authority", base, label);
    if (!ca) return fail(ca.error());
    config.ca_pem = *ca;
    config.insecure_skip_verify = cluster["insecure-skip-tls-verify"] && cluster["insecure-skip-tls-verify"].as<bool>();
    YAML::Node user = find_named(root["users"], user_name, "user");
    if (user) {
      auto cert = data_or_file(user, "client-certificate-data", "client-certificate", base, label);
      if (!cert) return fail(cert.error());
      auto key = data_or_file(user, "client-key-data", "client-key", base, label);
      if (!key) return fail(key.error());
      config.client_cert_pem = *cert;
      config.client_key_pem = *key;
      if (config.client_cert_pem.empty() != config.client_key_pem.empty())
        return fail(ErrorKind::config,
                    label + ": user '" + user_name + "' has a client certificate without a key, or a key without one");
      if (user["token"]) {
        std::string token = user["token"].as<std::string>();
        register_secret(token);
        config.token = [token]() -> Result<std::string> { return token; };
      } else if (user["tokenFile"]) {
        std::filesystem::path file = user["tokenFile"].as<std::string>();
        config.token = token_file_reader(file.is_relative() ? base / file : file);
      } else if (user["exec"] || user["auth-provider"]) {
        return fail(ErrorKind::config,
                    label + ": user '" + user_name +
                        "' uses an exec or auth-provider plugin, which sbpipe does not run; use a token or client certificate");
      }
    }
    return config;
  } catch (const YAML::Exception& e) {
    return fail(ErrorKind::config, label + ": " + e.what());
  }
}

Result<KubeConfig> load_kube_config(const Getenv& getenv) {
  if (auto host = getenv("KUBERNETES_SERVICE_HOST"); host && !host->empty()) return load_in_cluster_config(getenv);
  std::filesystem::path path;
  if (auto env = getenv("KUBECONFIG"); env && !env->empty()) {
    path = env->substr(0, env->find(':'));
  } else if (auto home = getenv("HOME"); home && !home->empty()) {
    path = std::filesystem::path(*home) / ".kube" / "config";
  } else {
    return fail(ErrorKind::config, "no Kubernetes API: not in a cluster, and neither KUBECONFIG nor HOME is set");
  }
  return load_kubeconfig(path);
}

}  // namespace sbpipe

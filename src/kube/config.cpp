#include "kube/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <set>
#include <string_view>
#include <tuple>

#include "core/base64.h"
#include "core/escape.h"
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

// One named entry of a merged list (a context, cluster or user) and the
// file it came from, against which its relative paths resolve.
struct Entry {
  YAML::Node node;
  std::filesystem::path file;
};

// The KUBECONFIG files merged as client-go's loader merges them.
struct Merged {
  std::string current_context;
  std::map<std::string, Entry> contexts;
  std::map<std::string, Entry> clusters;
  std::map<std::string, Entry> users;
  std::vector<std::string> files;  // the files read, in order
};

// One file's list into the merged one. A name twice in one file is an
// error, as client-go's decoding makes it (tools/clientcmd/api/v1
// conversion.go: "duplicate name ... in list"), so kubectl refuses the file.
Status merge_named(const YAML::Node& list, const char* inner, const std::filesystem::path& file,
                   std::map<std::string, Entry>& into) {
  if (!list || !list.IsSequence()) return {};
  std::set<std::string> in_file;
  for (const auto& item : list) {
    if (!item.IsMap() || !item["name"]) continue;
    std::string name = item["name"].as<std::string>();
    if (!in_file.insert(name).second)
      return fail(ErrorKind::config, "kubeconfig " + file.string() + ": " + inner + " '" + escape_controls(name) +
                                         "' is named twice (kubectl refuses such a file)");
    // try_emplace: the first file to name it wins, as kubectl's merge does.
    into.try_emplace(name, Entry{item[inner], file});
  }
  return {};
}

Result<Merged> merge_files(const std::vector<std::filesystem::path>& paths) {
  Merged merged;
  for (const auto& path : paths) {
    auto text = read_small_file(path, 4 << 20);
    if (!text) {
      // KUBECONFIG may name files that do not exist yet (kubectl skips them).
      if (text.error().kind() == ErrorKind::not_found && paths.size() > 1) continue;
      return fail(ErrorKind::config, "kubeconfig " + path.string() + ": cannot read");
    }
    try {
      YAML::Node root = YAML::Load(*text);
      if (merged.current_context.empty() && root["current-context"])
        merged.current_context = root["current-context"].as<std::string>();
      for (auto [list, inner, into] :
           {std::tuple{"contexts", "context", &merged.contexts}, std::tuple{"clusters", "cluster", &merged.clusters},
            std::tuple{"users", "user", &merged.users}})
        if (auto st = merge_named(root[list], inner, path, *into); !st) return fail(st.error());
    } catch (const YAML::Exception& e) {
      return fail(ErrorKind::config, "kubeconfig " + path.string() + ": " + e.what());
    }
    merged.files.push_back(path.string());
  }
  if (merged.files.empty()) {
    std::string list;
    for (const auto& p : paths) list += (list.empty() ? "" : ":") + p.string();
    return fail(ErrorKind::config, "kubeconfig: none of " + list + " exists");
  }
  return merged;
}

// The user's credentials into `config`; paths relative to `base`.
Status read_user(const YAML::Node& user, const std::string& user_name, const std::filesystem::path& base,
                 const std::string& label, KubeConfig& config) {
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
  return {};
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

Result<KubeConfig> load_kubeconfigs(const std::vector<std::filesystem::path>& paths, const std::string& context_name) {
  auto merged = merge_files(paths);
  if (!merged) return fail(merged.error());
  std::string source;
  for (const auto& f : merged->files) source += (source.empty() ? "" : ":") + f;
  std::string label = "kubeconfig " + source;
  try {
    std::string wanted = context_name.empty() ? merged->current_context : context_name;
    if (wanted.empty()) return fail(ErrorKind::config, label + ": no current-context (pass --context NAME)");
    auto context_it = merged->contexts.find(wanted);
    if (context_it == merged->contexts.end() || !context_it->second.node)
      return fail(ErrorKind::config, label + ": context '" + wanted + "' not found");
    const YAML::Node& context = context_it->second.node;
    std::string cluster_name = context["cluster"] ? context["cluster"].as<std::string>() : "";
    std::string user_name = context["user"] ? context["user"].as<std::string>() : "";
    auto cluster_it = merged->clusters.find(cluster_name);
    if (cluster_it == merged->clusters.end() || !cluster_it->second.node || !cluster_it->second.node["server"])
      return fail(ErrorKind::config, label + ": cluster '" + cluster_name + "' has no server");
    const YAML::Node& cluster = cluster_it->second.node;
    KubeConfig config;
    config.source = source;
    config.context = wanted;
    config.server = cluster["server"].as<std::string>();
    while (!config.server.empty() && config.server.back() == '/') config.server.pop_back();
    if (context["namespace"]) config.namespace_name = context["namespace"].as<std::string>();
    auto ca = data_or_file(cluster, "certificate-authority-data", "certificate-authority", cluster_it->second.file.parent_path(),
                           label);
    if (!ca) return fail(ca.error());
    config.ca_pem = *ca;
    config.insecure_skip_verify = cluster["insecure-skip-tls-verify"] && cluster["insecure-skip-tls-verify"].as<bool>();
    if (auto user_it = merged->users.find(user_name); user_it != merged->users.end() && user_it->second.node) {
      if (auto st = read_user(user_it->second.node, user_name, user_it->second.file.parent_path(), label, config); !st)
        return fail(st.error());
    }
    return config;
  } catch (const YAML::Exception& e) {
    return fail(ErrorKind::config, label + ": " + e.what());
  }
}

Result<KubeConfig> load_kubeconfig(const std::filesystem::path& path, const std::string& context_name) {
  return load_kubeconfigs({path}, context_name);
}

Result<KubeConfig> load_kube_config(const Getenv& getenv, const KubeSelection& selection) {
  if (!selection.kubeconfig.empty()) return load_kubeconfig(selection.kubeconfig, selection.context);
  if (auto host = getenv("KUBERNETES_SERVICE_HOST"); host && !host->empty() && selection.context.empty())
    return load_in_cluster_config(getenv);
  std::vector<std::filesystem::path> paths;
  if (auto env = getenv("KUBECONFIG"); env && !env->empty()) {
    std::string_view list = *env;
    while (!list.empty()) {
      auto colon = list.find(':');
      // A file named twice is read once (client-go's loader deduplicates
      // the list), so that its entries are not counted twice.
      if (auto part = list.substr(0, colon);
          !part.empty() && std::find(paths.begin(), paths.end(), std::filesystem::path(part)) == paths.end())
        paths.emplace_back(part);
      if (colon == std::string_view::npos) break;
      list.remove_prefix(colon + 1);
    }
  }
  if (paths.empty()) {
    auto home = getenv("HOME");
    if (!home || home->empty())
      return fail(ErrorKind::config, "no Kubernetes API: not in a cluster, and neither KUBECONFIG nor HOME is set");
    paths.push_back(std::filesystem::path(*home) / ".kube" / "config");
  }
  return load_kubeconfigs(paths, selection.context);
}

}  // namespace sbpipe

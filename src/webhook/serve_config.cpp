#include "webhook/serve_config.h"

#include <charconv>

#include "core/config_file.h"
#include "core/file.h"

namespace sbpipe {
namespace {

// What parse_serve_config reads (keep the two together).
constexpr std::string_view k_serve_keys[] = {"listen",
                                             "webhook_path",
                                             "webhook_secret_files",
                                             "allow_repos",
                                             "tag_pattern",
                                             "tls_cert_file",
                                             "tls_key_file",
                                             "threads",
                                             "executor",
                                             "notify_url",
                                             "notify_url_file",
                                             "trigger",
                                             "kubernetes.namespace",
                                             "kubernetes.workflow_template",
                                             "kubernetes.parameters.version",
                                             "kubernetes.parameters.repo",
                                             "kubernetes.parameters.release_id",
                                             "kubernetes.parameters.release_state"};

}  // namespace

ConfigSection serve_config_section() { return {"serve", k_serve_keys}; }

Status parse_listen(std::string_view text, ServerConfig& server) {
  auto colon = text.rfind(':');
  int port = -1;
  if (colon != std::string_view::npos) {
    auto digits = text.substr(colon + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc() || end != digits.data() + digits.size()) port = -1;
  }
  if (port < 0 || port > 65535) return fail(ErrorKind::usage, "listen address '" + std::string(text) + "': expected HOST:PORT");
  std::string host(text.substr(0, colon));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  server.host = host.empty() ? "0.0.0.0" : host;
  server.port = port;
  return {};
}

Result<ServeSettings> parse_serve_config(std::string_view yaml, std::string_view label) {
  ServeSettings s;
  auto st = visit_config_section(yaml, label, "serve", [&](const std::string& name, const YAML::Node& value) -> Status {
    std::string key = "serve." + name;
    std::string text;
    if (name == "listen") {
      if (auto r = read_config_string(value, key, text, label); !r) return r;
      auto parsed = parse_listen(text, s.server);
      if (!parsed) return config_error(label, key + ": " + parsed.error().message());
      return {};
    }
    if (name == "webhook_path") return read_config_string(value, key, s.server.path, label);
    if (name == "webhook_secret_files") return read_config_list(value, key, s.secret_files, label);
    if (name == "allow_repos") return read_config_list(value, key, s.filter.allowed_repos, label);
    if (name == "tag_pattern") return read_config_string(value, key, s.filter.tag_pattern, label);
    if (name == "tls_cert_file") return read_config_string(value, key, s.server.tls_cert_file, label);
    if (name == "tls_key_file") return read_config_string(value, key, s.server.tls_key_file, label);
    if (name == "threads") return read_config_int(value, key, s.server.threads, label);
    if (name == "executor") return read_config_string(value, key, s.executor, label);
    if (name == "notify_url") return read_config_string(value, key, s.notify_url, label);
    if (name == "notify_url_file") return read_config_string(value, key, s.notify_url_file, label);
    if (name == "trigger") {
      if (auto r = read_config_string(value, key, text, label); !r) return r;
      if (text != "prerelease" && text != "draft") return config_error(label, key + " must be prerelease or draft");
      s.filter.trigger = text == "draft" ? Trigger::draft : Trigger::prerelease;
      return {};
    }
    if (name == "kubernetes") {
      if (!value.IsMap()) return config_error(label, key + " must be a mapping");
      for (const auto& field : value) {
        auto sub = field.first.as<std::string>();
        std::string subkey = key + "." + sub;
        Status r;
        if (sub == "namespace") {
          r = read_config_string(field.second, subkey, s.target.namespace_name, label);
          s.namespace_configured = true;
        } else if (sub == "workflow_template")
          r = read_config_string(field.second, subkey, s.target.workflow_template, label);
        else if (sub == "parameters") {
          if (!field.second.IsMap()) return config_error(label, subkey + " must be a mapping");
          for (const auto& p : field.second) {
            auto pname = p.first.as<std::string>();
            std::string pkey = subkey + "." + pname;
            if (pname == "version")
              r = read_config_string(p.second, pkey, s.target.version_parameter, label);
            else if (pname == "repo")
              r = read_config_string(p.second, pkey, s.target.repo_parameter, label);
            else if (pname == "release_id")
              r = read_config_string(p.second, pkey, s.target.release_id_parameter, label);
            else if (pname == "release_state")
              r = read_config_string(p.second, pkey, s.target.release_state_parameter, label);
            else
              return config_error(label, "unknown key " + pkey);
            if (!r) return r;
          }
        } else
          return config_error(label, "unknown key " + subkey);
        if (!r) return r;
      }
      return {};
    }
    return config_error(label, "unknown key " + key);
  });
  if (!st) return fail(st.error());
  return s;
}

Result<ServeSettings> load_serve_config(const std::filesystem::path& path) {
  auto text = read_small_file(path);
  if (!text) return fail(ErrorKind::config, "--config: " + text.error().message());
  return parse_serve_config(*text, path.string());
}

}  // namespace sbpipe

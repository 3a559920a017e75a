#include "oci/credentials.h"

#include <nlohmann/json.hpp>

#include <cstdlib>

#include "core/base64.h"
#include "core/file.h"
#include "core/redact.h"
#include "oci/credential_helper.h"
#include "oci/docker_config.h"

#include <spdlog/spdlog.h>

namespace sbpipe {
namespace {

Result<Credentials> from_docker_config(const std::string& registry, const CredentialSources& sources) {
  auto path = docker_config_path(sources.authfile, sources.getenv);
  if (!path) return Credentials{};
  if (!sources.authfile.empty() && !std::filesystem::exists(*path))
    return fail(ErrorKind::config, "--authfile " + path->string() + ": no such file");
  auto config = read_docker_config(*path);
  if (!config) return fail(config.error());
  const nlohmann::json& json = *config;
  // A credential helper, when config.json names one for this registry,
  // answers alone (docker/cli credentials/native_store.go).
  if (std::string helper = credential_helper_for(json, registry); !helper.empty()) {
    auto found = credentials_from_helper(helper, registry);
    if (!found) return fail(found.error());
    if (!*found) {
      spdlog::debug("registry credentials for {}: docker-credential-{} has none; anonymous", registry, helper);
      return Credentials{};
    }
    spdlog::debug("registry credentials for {}: docker-credential-{} (named by {})", registry, helper, path->string());
    return **found;
  }
  if (!json.contains("auths") || !json["auths"].is_object()) return Credentials{};
  const auto& auths = json["auths"];
  // Keys may be bare hosts or URLs ("https://ghcr.io", "https://index.docker.io/v1/").
  const nlohmann::json* entry = nullptr;
  for (auto it = auths.begin(); it != auths.end(); ++it) {
    std::string key = it.key();
    if (auto p = key.find("://"); p != std::string::npos) key = key.substr(p + 3);
    key = key.substr(0, key.find('/'));
    bool docker_hub = (registry == "docker.io" || registry == "index.docker.io") && key == "index.docker.io";
    if (key == registry || docker_hub) {
      entry = &it.value();
      break;
    }
  }
  if (entry == nullptr || !entry->is_object()) {
    spdlog::debug("registry credentials for {}: none in {}; anonymous", registry, path->string());
    return Credentials{};
  }
  spdlog::debug("registry credentials for {}: auths entry in {}", registry, path->string());
  Credentials creds;
  if (entry->contains("auth") && (*entry)["auth"].is_string()) {
    auto decoded = base64_decode((*entry)["auth"].get<std::string>());
    auto colon = decoded ? decoded->find(':') : std::string::npos;
    if (!decoded || colon == std::string::npos)
      return fail(ErrorKind::config,
                  "docker config " + path->string() + ": auths entry for " + registry + " is not base64 'user:password'");
    creds.username = decoded->substr(0, colon);
    creds.password = decoded->substr(colon + 1);
  } else {
    if (entry->contains("username") && (*entry)["username"].is_string()) creds.username = (*entry)["username"];
    if (entry->contains("password") && (*entry)["password"].is_string()) creds.password = (*entry)["password"];
  }
  register_secret(creds.password);
  return creds;
}

}  // namespace

std::optional<std::string> process_getenv(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

Result<Credentials> resolve_credentials(const std::string& registry, const CredentialSources& sources) {
  if (!sources.username.empty() || sources.password_file) {
    if (sources.username.empty() || !sources.password_file)
      return fail(ErrorKind::usage, "--username and --password-file go together");
    auto password = read_secret_file(*sources.password_file, "--password-file");
    if (!password) return fail(password.error());
    spdlog::debug("registry credentials for {}: --username with --password-file", registry);
    return Credentials{sources.username, *password};
  }
  auto env_user = sources.getenv("SBPIPE_REGISTRY_USERNAME");
  auto env_pass = sources.getenv("SBPIPE_REGISTRY_PASSWORD");
  if ((env_user && !env_user->empty()) || (env_pass && !env_pass->empty())) {
    if (!env_user || env_user->empty() || !env_pass || env_pass->empty())
      return fail(ErrorKind::config, "SBPIPE_REGISTRY_USERNAME and SBPIPE_REGISTRY_PASSWORD go together");
    register_secret(*env_pass);
    spdlog::debug("registry credentials for {}: SBPIPE_REGISTRY_USERNAME and SBPIPE_REGISTRY_PASSWORD", registry);
    return Credentials{*env_user, *env_pass};
  }
  return from_docker_config(registry, sources);
}

}  // namespace sbpipe

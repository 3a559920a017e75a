#include "oci/docker_config.h"

#include "core/base64.h"
#include "core/file.h"
#include "oci/credential_helper.h"

namespace sbpipe {

std::optional<std::filesystem::path> docker_config_path(const std::string& authfile, const EnvLookup& getenv) {
  if (!authfile.empty()) return std::filesystem::path(authfile);
  if (auto dir = getenv("DOCKER_CONFIG"); dir && !dir->empty()) return std::filesystem::path(*dir) / "config.json";
  if (auto home = getenv("HOME"); home && !home->empty()) return std::filesystem::path(*home) / ".docker" / "config.json";
  return std::nullopt;
}

Result<nlohmann::json> read_docker_config(const std::filesystem::path& path) {
  auto text = read_small_file(path);
  if (!text) {
    if (text.error().kind() == ErrorKind::not_found) return nlohmann::json::object();
    return fail(ErrorKind::config, "docker config " + path.string() + ": unreadable");
  }
  auto json = nlohmann::json::parse(*text, nullptr, false);
  if (json.is_discarded() || !json.is_object())
    return fail(ErrorKind::config, "docker config " + path.string() + ": not valid JSON");
  return json;
}

std::string credential_helper_for(const nlohmann::json& config, const std::string& registry) {
  if (auto helpers = config.find("credHelpers"); helpers != config.end() && helpers->is_object()) {
    if (auto named = helpers->find(registry); named != helpers->end() && named->is_string()) return named->get<std::string>();
  }
  if (auto store = config.find("credsStore"); store != config.end() && store->is_string()) return store->get<std::string>();
  return "";
}

std::string auths_key(const std::string& registry) {
  if (registry == "docker.io" || registry == "index.docker.io" || registry == "registry-1.docker.io")
    return "https://index.docker.io/v1/";
  return registry;
}

Result<SavedLogin> save_docker_login(const std::filesystem::path& path, const std::string& registry,
                                     const Credentials& credentials) {
  auto config = read_docker_config(path);
  if (!config) return fail(config.error());
  SavedLogin saved{path, credential_helper_for(*config, registry)};
  if (!config->contains("auths") || !(*config)["auths"].is_object()) (*config)["auths"] = nlohmann::json::object();
  auto& entry = (*config)["auths"][auths_key(registry)];
  if (!saved.helper.empty()) {
    if (auto st = store_in_helper(saved.helper, registry, credentials); !st) return fail(st.error());
    // docker keeps an empty entry, so `docker login` lists the registry;
    // no secret stays in the file.
    entry = nlohmann::json::object();
  } else {
    if (!entry.is_object()) entry = nlohmann::json::object();
    entry["auth"] = base64_encode(credentials.username + ":" + credentials.password);
    entry.erase("username");
    entry.erase("password");
    entry.erase("identitytoken");
  }
  if (path.has_parent_path() && !std::filesystem::exists(path.parent_path())) {
    if (auto st = create_private_directories(path.parent_path()); !st) return fail(st.error());
  }
  if (auto st = write_file_atomically(path, config->dump(1, '\t') + "\n", 0600); !st)
    return fail(ErrorKind::io, "docker config " + path.string() + ": " + st.error().message());
  return saved;
}

Result<bool> remove_docker_login(const std::filesystem::path& path, const std::string& registry) {
  auto config = read_docker_config(path);
  if (!config) return fail(config.error());
  std::string helper = credential_helper_for(*config, registry);
  if (!helper.empty())
    if (auto st = erase_in_helper(helper, registry); !st) return fail(st.error());
  bool had_entry =
      config->contains("auths") && (*config)["auths"].is_object() && (*config)["auths"].contains(auths_key(registry));
  if (!had_entry) return !helper.empty();
  (*config)["auths"].erase(auths_key(registry));
  if (auto st = write_file_atomically(path, config->dump(1, '\t') + "\n", 0600); !st)
    return fail(ErrorKind::io, "docker config " + path.string() + ": " + st.error().message());
  return true;
}

}  // namespace sbpipe

#pragma once
// docker's config.json (docker/cli cli/config/configfile/file.go): where it
// is, which credential helper it names for a registry, and writing a login
// into it as `docker login` does. The file is
//   --authfile PATH when given (podman/skopeo's name for it),
//   else $DOCKER_CONFIG/config.json,
//   else $HOME/.docker/config.json.

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "oci/credentials.h"

namespace sbpipe {

using EnvLookup = std::function<std::optional<std::string>(const char*)>;

// The config.json path, as above; nullopt when no authfile is given and
// neither DOCKER_CONFIG nor HOME is set.
std::optional<std::filesystem::path> docker_config_path(const std::string& authfile, const EnvLookup& getenv);

// The file's JSON object; an empty object when the file does not exist.
// config error "docker config PATH: ..." when it is unreadable or not a
// JSON object.
Result<nlohmann::json> read_docker_config(const std::filesystem::path& path);

// The credential helper the config names for `registry`: credHelpers'
// entry, else credsStore; "" for none (docker/cli GetCredentialsStore).
std::string credential_helper_for(const nlohmann::json& config, const std::string& registry);

// The auths key docker writes for `registry`: "https://index.docker.io/v1/"
// for Docker Hub, the host[:port] itself otherwise.
std::string auths_key(const std::string& registry);

struct SavedLogin {
  std::filesystem::path path;  // the config.json written
  std::string helper;          // the helper that stores the secret; "" when the file holds it
};

// Stores a login for `registry` as docker login does: through the helper
// the file names for it (`docker-credential-NAME store`; the file gets an
// empty auths entry), else as auths[registry].auth = base64(user:password).
// Every other key and entry of the file is kept as it was. The file is
// written atomically with mode 0600, its directory created (0700) when
// missing. config errors from reading or from the helper; io errors name
// the file.
Result<SavedLogin> save_docker_login(const std::filesystem::path& path, const std::string& registry,
                                     const Credentials& credentials);

// Removes the login for `registry` as `docker logout` does: the helper the
// file names for it erases its secret, and the auths entry goes; every
// other key stays. Returns false when there was nothing to remove (neither
// an entry nor a helper). Errors as save_docker_login.
Result<bool> remove_docker_login(const std::filesystem::path& path, const std::string& registry);

}  // namespace sbpipe

#pragma once
// Where registry credentials come from, in order: flags (--username with
// --password-file), the environment (SBPIPE_REGISTRY_USERNAME and
// SBPIPE_REGISTRY_PASSWORD), then docker's config.json (--authfile, else
// $DOCKER_CONFIG/config.json, else ~/.docker/config.json): its credential
// helper for the registry (`credHelpers`, else `credsStore`, through
// `docker-credential-NAME get`), else its `auths` entry. None of these
// is required: anonymous access is tried when all are absent. A debug log
// line names the source used, never the secret.
// Every password found is registered for redaction before it is returned.

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "core/error.h"

namespace sbpipe {

struct Credentials {
  std::string username;
  std::string password;
  bool present() const { return !username.empty() || !password.empty(); }
};

struct CredentialSources {
  std::string username;                                // --username
  std::optional<std::filesystem::path> password_file;  // --password-file
  // Environment look-up (a seam for tests); returns nullopt for unset.
  std::function<std::optional<std::string>(const char*)> getenv;
  // --authfile: this config.json instead of docker's (it must exist).
  std::string authfile;
};

// Resolves credentials for `registry` (host[:port] as in the reference).
// config error for half-given flags or env, a missing --authfile, or an
// unreadable/invalid config.json entry for this registry.
Result<Credentials> resolve_credentials(const std::string& registry, const CredentialSources& sources);

std::optional<std::string> process_getenv(const char* name);

}  // namespace sbpipe

#pragma once
// docker's credential-helper protocol (docker/docker-credential-helpers,
// README "Usage" and credentials/credentials.go): `docker-credential-NAME get`
// reads the server URL on stdin and writes {"ServerURL","Username","Secret"}
// as JSON on stdout; it exits non-zero with "credentials not found in native
// keychain" when it has nothing for that server. config.json chooses the
// helper: `credHelpers[registry]`, else `credsStore` (docker/cli
// cli/config/configfile/file.go, GetCredentialsStore).

#include <optional>
#include <string>

#include "core/error.h"
#include "oci/credentials.h"

namespace sbpipe {

// Runs `docker-credential-<helper> get` for `registry` (looked up in PATH).
// nullopt when the helper has no credentials for it; config error when the
// helper is missing, fails otherwise, or answers something that is not the
// protocol's JSON. The secret is registered for redaction.
Result<std::optional<Credentials>> credentials_from_helper(const std::string& helper, const std::string& registry);

// Runs `docker-credential-<helper> store` with {"ServerURL","Username",
// "Secret"} on its stdin, as `docker login` does for a registry config.json
// gives a helper. config error when the helper is missing or fails (its
// exit status named; the secret never is).
Status store_in_helper(const std::string& helper, const std::string& registry, const Credentials& credentials);

// Runs `docker-credential-<helper> erase` with the server URL on its stdin,
// as `docker logout` does. config error as store_in_helper.
Status erase_in_helper(const std::string& helper, const std::string& registry);

}  // namespace sbpipe

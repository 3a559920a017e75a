#pragma once
// The registry flags every command that reaches a registry shares:
// --authfile (podman/skopeo's name: the config.json to read credentials
// from instead of docker's) and --insecure (HTTPS without certificate
// verification, for a registry with a self-signed certificate).

#include <string>

namespace CLI {
class App;
}

namespace sbpipe {

struct RegistryAccess;

// Adds --authfile and --insecure to `cmd`, stored into `access`.
void add_registry_access_flags(CLI::App& cmd, RegistryAccess& access);

}  // namespace sbpipe

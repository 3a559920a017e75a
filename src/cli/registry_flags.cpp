#include "cli/registry_flags.h"

#include <CLI/CLI.hpp>

#include "pipeline/steps.h"

namespace sbpipe {

void add_registry_access_flags(CLI::App& cmd, RegistryAccess& access) {
  cmd.add_option("--authfile", access.authfile,
                 "docker config.json to read registry credentials from (default $DOCKER_CONFIG/config.json, else "
                 "~/.docker/config.json)");
  cmd.add_flag("--insecure", access.insecure,
               "HTTPS to the registry without certificate verification (a registry with a self-signed certificate)");
}

}  // namespace sbpipe

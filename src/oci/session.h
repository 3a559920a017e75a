#pragma once
// Opening a registry client for one repository: HTTP transport, the
// Authenticator with its scopes, and the Registry, wired the same way for
// every command that talks to a registry.

#include <string>
#include <vector>

#include "oci/pusher.h"

namespace sbpipe {

struct SessionOptions {
  bool plain_http = false;  // http:// (loopback tests, in-cluster registries)
  std::string ca_file;      // extra CA bundle
  RetryPolicy policy;
};

// A session for `repository` on the registry at `api_host`, asking for
// `scopes` ("repository:owner/name:pull,push"). Does not touch the network.
Result<RegistrySession> open_registry_session(const std::string& api_host, const std::string& repository,
                                              const Credentials& credentials, std::vector<std::string> scopes,
                                              const SessionOptions& options);

} // namespace sbpipe

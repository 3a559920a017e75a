#pragma once
// Opening a registry client for one repository: HTTP transport, the
// Authenticator with its scopes, and the Registry, wired the same way for
// every command that talks to a registry.

#include <string>
#include <vector>

#include "oci/pusher.h"
#include "oci/reference.h"

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

// HEAD of one manifest of `image` (`reference`: a tag or "sha256:<hex>")
// through a pull session; returns the digest the registry names. not_found
// when the registry has no such manifest.
Result<Digest> head_image_manifest(const ImageRef& image, const std::string& reference, const Credentials& credentials,
                                   const SessionOptions& options);

} // namespace sbpipe

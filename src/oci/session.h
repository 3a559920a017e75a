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
  bool insecure = false;  // --insecure: HTTPS without certificate verification (self-signed)
};

// Whether crane would speak plain HTTP to `api_host` when HTTPS fails:
// localhost, 127.0.0.0/8, ::1 and the RFC 1918 ranges (go-containerregistry
// pkg/name/registry.go, Registry.Scheme; docker treats 127.0.0.0/8 alike).
bool may_fall_back_to_http(const std::string& api_host);

// A session for `repository` on the registry at `api_host`, asking for
// `scopes` ("repository:owner/name:pull,push"). For a host
// may_fall_back_to_http() accepts (and without plain_http), it first asks
// GET https://HOST/v2/ and, when no TLS connection comes of it but
// http://HOST/v2/ answers, uses http:// (logged), as crane's transport ping
// does (pkg/v1/remote/transport/ping.go). Otherwise no network.
Result<RegistrySession> open_registry_session(const std::string& api_host, const std::string& repository,
                                              const Credentials& credentials, std::vector<std::string> scopes,
                                              const SessionOptions& options);

// HEAD of one manifest of `image` (`reference`: a tag or "sha256:<hex>")
// through a pull session; returns the digest the registry names. not_found
// when the registry has no such manifest.
Result<Digest> head_image_manifest(const ImageRef& image, const std::string& reference, const Credentials& credentials,
                                   const SessionOptions& options);

}  // namespace sbpipe

#include "oci/session.h"

#include "core/clock.h"

namespace sbpipe {

Result<RegistrySession> open_registry_session(const std::string& api_host, const std::string& repository,
                                              const Credentials& credentials, std::vector<std::string> scopes,
                                              const SessionOptions& options) {
  HttpOptions http_options;
  http_options.ca_file = options.ca_file;
  RegistrySession s;
  s.http = make_curl_client(http_options);
  s.auth = std::make_unique<Authenticator>(*s.http, real_clock(), credentials, std::move(scopes));
  RegistryEndpoint endpoint{(options.plain_http ? "http://" : "https://") + api_host, repository};
  s.registry = std::make_unique<Registry>(*s.http, *s.auth, real_clock(), endpoint, options.policy);
  return s;
}

Result<Digest> head_image_manifest(const ImageRef& image, const std::string& reference, const Credentials& credentials,
                                   const SessionOptions& options) {
  auto session = open_registry_session(image.api_host(), image.repository, credentials,
                                       {"repository:" + image.repository + ":pull"}, options);
  if (!session) return fail(session.error());
  auto head = session->registry->head_manifest(reference);
  if (!head) return fail(head.error());
  if (!*head)
    return fail(ErrorKind::not_found, "manifest " + reference + " not found in " + image.registry + "/" + image.repository);
  return (*head)->digest;
}

} // namespace sbpipe

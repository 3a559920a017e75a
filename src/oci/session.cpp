#include "oci/session.h"

#include <arpa/inet.h>
#include <spdlog/spdlog.h>

#include <mutex>
#include <set>

#include "core/clock.h"

namespace sbpipe {

bool may_fall_back_to_http(const std::string& api_host) {
  std::string host = api_host;
  if (host.starts_with("[")) {
    host = host.substr(1, host.find(']') - 1);
  } else if (auto colon = host.rfind(':'); colon != std::string::npos && host.find(':') == colon) {
    host = host.substr(0, colon);
  }
  if (host == "localhost" || host == "::1") return true;
  in_addr address{};
  if (inet_pton(AF_INET, host.c_str(), &address) != 1) return false;
  uint32_t ip = ntohl(address.s_addr);
  auto in = [ip](uint32_t net, int bits) { return (ip >> (32 - bits)) == (net >> (32 - bits)); };
  return in(0x7F000000, 8) || in(0x0A000000, 8) || in(0xAC100000, 12) || in(0xC0A80000, 16);
}

namespace {

// "https" unless HTTPS gives no answer at all and HTTP does. A registry
// found to speak plain HTTP is remembered for the process: the next session
// to it (a run opens several) neither probes again nor says it again.
std::string probe_scheme(HttpClient& http, const std::string& api_host) {
  static std::mutex mutex;
  static std::set<std::string> plain_hosts;
  {
    std::lock_guard lock(mutex);
    if (plain_hosts.contains(api_host)) return "http://";
  }
  HttpRequest request;
  request.url = "https://" + api_host + "/v2/";
  auto secure = http.send(request);
  if (secure) return "https://";
  request.url = "http://" + api_host + "/v2/";
  auto plain = http.send(request);
  // Only a registry's answer counts: a TLS server answers plain HTTP too
  // (400 "Client sent an HTTP request to an HTTPS server"), and one whose
  // certificate is not trusted must stay HTTPS (--ca-file, --insecure).
  if (!plain || (plain->status != 200 && plain->status != 401)) return "https://";
  spdlog::info(
      "{}: no HTTPS ({}); it answers plain HTTP, which sbpipe uses for loopback and private addresses as crane "
      "does (--plain-http says so up front)",
      api_host, secure.error().message());
  std::lock_guard lock(mutex);
  plain_hosts.insert(api_host);
  return "http://";
}

}  // namespace

Result<RegistrySession> open_registry_session(const std::string& api_host, const std::string& repository,
                                              const Credentials& credentials, std::vector<std::string> scopes,
                                              const SessionOptions& options) {
  HttpOptions http_options;
  http_options.ca_file = options.ca_file;
  http_options.insecure_skip_verify = options.insecure;
  RegistrySession s;
  s.http = make_curl_client(http_options);
  s.auth = std::make_unique<Authenticator>(*s.http, real_clock(), credentials, std::move(scopes));
  std::string scheme = options.plain_http                ? "http://"
                       : may_fall_back_to_http(api_host) ? probe_scheme(*s.http, api_host)
                                                         : "https://";
  RegistryEndpoint endpoint{scheme + api_host, repository};
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

}  // namespace sbpipe

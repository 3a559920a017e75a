#pragma once
// URL helpers for the small set of operations registries and APIs need.

#include <optional>
#include <string>
#include <string_view>

namespace sbpipe {

// The origin of a URL as browsers and registry clients compare it (RFC 6454):
// lower-cased scheme and host, and the port, defaulted from the scheme
// (http 80, https 443). IPv6 hosts keep their brackets.
struct UrlOrigin {
  std::string scheme;
  std::string host;
  int port = 0;
  bool operator==(const UrlOrigin&) const = default;
  std::string str() const;  // "scheme://host:port"
};

// nullopt when `url` is not an absolute http(s) URL with a host and a valid port.
std::optional<UrlOrigin> parse_url_origin(std::string_view url);

// True when both URLs parse and have the same scheme, host and port.
bool same_origin(std::string_view a, std::string_view b);

// localhost, 127.0.0.0/8 and [::1]: traffic to them never leaves the machine.
bool is_loopback_host(std::string_view host);

// Returns "scheme://host[:port]" of an absolute URL, or "" when it has none.
std::string url_origin(std::string_view url);

// Resolves a Location header against the URL of the request that returned it:
// absolute URLs stay, "//host/..." takes the base's scheme, "/path" the base's
// origin, and "path" the base's directory (RFC 3986 §5.2, without dot-segment
// removal, which registries do not send).
std::string resolve_url(std::string_view base, std::string_view reference);

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string percent_encode(std::string_view text);

// Appends "key=value" (value percent-encoded) with '?' or '&' as needed.
std::string add_query(std::string_view url, std::string_view key, std::string_view value);

}  // namespace sbpipe

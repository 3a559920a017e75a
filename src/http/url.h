#pragma once
// URL helpers for the small set of operations registries and APIs need.

#include <string>
#include <string_view>

namespace sbpipe {

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

} // namespace sbpipe

#include "http/url.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace sbpipe {

std::string UrlOrigin::str() const { return scheme + "://" + host + ":" + std::to_string(port); }

std::optional<UrlOrigin> parse_url_origin(std::string_view url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  UrlOrigin origin;
  origin.scheme = std::string(url.substr(0, scheme_end));
  std::transform(origin.scheme.begin(), origin.scheme.end(), origin.scheme.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (origin.scheme != "http" && origin.scheme != "https") return std::nullopt;
  std::string_view authority = url.substr(scheme_end + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (auto at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  std::string_view port;
  if (authority.starts_with("[")) {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    origin.host = std::string(authority.substr(0, close + 1));
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
    }
  } else {
    auto colon = authority.find(':');
    origin.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (origin.host.empty()) return std::nullopt;
  std::transform(origin.host.begin(), origin.host.end(), origin.host.begin(), [](unsigned char c) { return std::tolower(c); });
  if (port.empty()) {
    origin.port = origin.scheme == "https" ? 443 : 80;
  } else {
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), origin.port);
    if (ec != std::errc() || end != port.data() + port.size() || origin.port <= 0 || origin.port > 65535) return std::nullopt;
  }
  return origin;
}

bool same_origin(std::string_view a, std::string_view b) {
  auto x = parse_url_origin(a);
  auto y = parse_url_origin(b);
  return x && y && *x == *y;
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost" || host == "[::1]") return true;
  if (!host.starts_with("127.")) return false;
  int dots = 0;
  for (char c : host) {
    if (c == '.')
      ++dots;
    else if (!std::isdigit(static_cast<unsigned char>(c)))
      return false;
  }
  return dots == 3;
}

std::string url_origin(std::string_view url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return "";
  auto path_start = url.find('/', scheme_end + 3);
  return std::string(url.substr(0, path_start));
}

std::string resolve_url(std::string_view base, std::string_view reference) {
  if (reference.find("://") != std::string_view::npos) return std::string(reference);
  if (reference.starts_with("//")) {
    auto scheme_end = base.find("://");
    return std::string(base.substr(0, scheme_end + 1)) + std::string(reference);
  }
  if (reference.starts_with("/")) return url_origin(base) + std::string(reference);
  std::string_view path = base.substr(0, base.find_first_of("?#"));
  auto slash = path.rfind('/');
  auto origin_len = url_origin(base).size();
  std::string dir =
      slash == std::string_view::npos || slash < origin_len ? url_origin(base) + "/" : std::string(path.substr(0, slash + 1));
  return dir + std::string(reference);
}

std::string percent_encode(std::string_view text) {
  static constexpr char k_hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(k_hex[c >> 4]);
      out.push_back(k_hex[c & 0xf]);
    }
  }
  return out;
}

std::string add_query(std::string_view url, std::string_view key, std::string_view value) {
  std::string out(url);
  out += out.find('?') == std::string::npos ? '?' : '&';
  out += key;
  out += '=';
  out += percent_encode(value);
  return out;
}

}  // namespace sbpipe

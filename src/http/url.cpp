#include "http/url.h"

namespace sbpipe {

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
  std::string dir = slash == std::string_view::npos || slash < origin_len ? url_origin(base) + "/"
                                                                           : std::string(path.substr(0, slash + 1));
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

} // namespace sbpipe

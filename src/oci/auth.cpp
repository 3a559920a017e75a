#include "oci/auth.h"

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

#include "core/ascii.h"
#include "core/base64.h"
#include "core/redact.h"
#include "http/url.h"

namespace sbpipe {
namespace {

constexpr auto k_default_token_life = std::chrono::seconds(60);
constexpr auto k_refresh_margin = std::chrono::seconds(10);

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~/").find(c) != std::string_view::npos;
}

}  // namespace

std::vector<Challenge> parse_www_authenticate(std::string_view v) {
  std::vector<Challenge> out;
  size_t i = 0;
  auto skip_ws = [&] {
    while (i < v.size() && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) ++i;
  };
  auto read_token = [&] {
    size_t start = i;
    while (i < v.size() && is_token_char(v[i])) ++i;
    return v.substr(start, i - start);
  };
  while (i < v.size()) {
    skip_ws();
    auto word = read_token();
    if (word.empty()) {
      ++i;  // skip a stray character rather than loop forever
      continue;
    }
    size_t j = i;
    while (j < v.size() && v[j] == ' ') ++j;
    if (j < v.size() && v[j] == '=' && !out.empty()) {
      // key=value of the current challenge
      i = j + 1;
      while (i < v.size() && v[i] == ' ') ++i;
      std::string value;
      if (i < v.size() && v[i] == '"') {
        ++i;
        while (i < v.size() && v[i] != '"') {
          if (v[i] == '\\' && i + 1 < v.size()) ++i;
          value.push_back(v[i++]);
        }
        ++i;  // closing quote
      } else {
        value = std::string(read_token());
      }
      out.back().params[ascii_lower(word)] = value;
    } else {
      out.push_back(Challenge{ascii_lower(word), {}});
    }
  }
  return out;
}

Authenticator::Authenticator(HttpClient& http, Clock& clock, Credentials credentials, std::vector<std::string> scopes)
    : m_http(http), m_clock(clock), m_credentials(std::move(credentials)), m_scopes(std::move(scopes)) {}

Result<std::string> Authenticator::header() {
  switch (m_mode) {
  case Mode::anonymous: return std::string();
  case Mode::basic: return "Basic " + base64_encode(m_credentials.username + ":" + m_credentials.password);
  case Mode::bearer:
    if (m_clock.now() + k_refresh_margin >= m_expiry) {
      if (auto st = fetch_token(); !st) return fail(st.error());
    }
    return "Bearer " + m_token;
  }
  return std::string();
}

Status Authenticator::on_unauthorized(const HttpResponse& response) {
  auto header_value = response.header("WWW-Authenticate");
  auto challenges = header_value ? parse_www_authenticate(*header_value) : std::vector<Challenge>{};
  auto pick = [&](std::string_view scheme) -> const Challenge* {
    for (const auto& c : challenges)
      if (c.scheme == scheme) return &c;
    return nullptr;
  };
  if (const Challenge* bearer = pick("bearer")) {
    if (m_mode == Mode::bearer && m_fresh)
      return fail(ErrorKind::auth,
                  std::string("the registry refused the token it issued") +
                      (m_credentials.present() ? " (no push access for these credentials?)" : " (no credentials given)"));
    if (!bearer->params.contains("realm")) return fail(ErrorKind::auth, "Bearer challenge without a realm");
    m_challenge = *bearer;
    m_mode = Mode::bearer;
    if (auto st = fetch_token(); !st) return st;
    m_fresh = true;
    return {};
  }
  if (pick("basic") != nullptr) {
    if (!m_credentials.present()) return fail(ErrorKind::auth, "the registry requires credentials (Basic) and none were given");
    if (m_mode == Mode::basic && m_fresh) return fail(ErrorKind::auth, "the registry refused the credentials (Basic)");
    m_mode = Mode::basic;
    m_fresh = true;
    return {};
  }
  return fail(ErrorKind::auth, "HTTP 401 without a usable WWW-Authenticate challenge");
}

Status Authenticator::fetch_token() {
  std::string url = m_challenge.params["realm"];
  if (m_challenge.params.contains("service")) url = add_query(url, "service", m_challenge.params["service"]);
  std::vector<std::string> scopes = m_scopes;
  if (auto it = m_challenge.params.find("scope");
      it != m_challenge.params.end() && std::find(scopes.begin(), scopes.end(), it->second) == scopes.end())
    scopes.push_back(it->second);
  for (const auto& scope : scopes) url = add_query(url, "scope", scope);

  HttpRequest request;
  request.url = url;
  request.follow_redirects = true;
  request.max_response_body = 256 * 1024;
  std::string where = "token service " + url_origin(m_challenge.params["realm"]);
  auto realm = parse_url_origin(m_challenge.params["realm"]);
  if (!realm) return fail(ErrorKind::auth, "Bearer realm is not an http(s) URL");
  if (m_credentials.present()) {
    // The login goes to whatever host the registry names as its realm; it
    // must at least not cross the network in the clear.
    if (realm->scheme != "https" && !is_loopback_host(realm->host))
      return fail(ErrorKind::auth, where +
                                       " is plain HTTP on a host other than loopback; sbpipe sends the registry login "
                                       "only over HTTPS (or to 127.0.0.1/localhost)");
    request.headers.emplace_back("Authorization",
                                 "Basic " + base64_encode(m_credentials.username + ":" + m_credentials.password));
    spdlog::debug("{}: sending the registry login (Basic) to get a token", where);
  } else {
    spdlog::debug("{}: asking for an anonymous token", where);
  }
  ++m_token_requests;
  auto response = m_http.send(request);
  if (!response) return fail(response.error().with_context(where));
  if (response->status == 401 || response->status == 403)
    return fail(ErrorKind::auth, where + ": credentials refused (HTTP " + std::to_string(response->status) + ")");
  if (response->status != 200)
    return fail(response->status >= 500 ? ErrorKind::transient : ErrorKind::auth,
                where + ": HTTP " + std::to_string(response->status));
  auto json = nlohmann::json::parse(response->body, nullptr, false);
  std::string token;
  if (json.is_object()) {
    for (const char* key : {"token", "access_token"})
      if (json.contains(key) && json[key].is_string() && !json[key].get<std::string>().empty()) {
        token = json[key].get<std::string>();
        break;
      }
  }
  if (token.empty()) return fail(ErrorKind::auth, where + ": response has no token");
  register_secret(token);
  auto life = std::chrono::seconds(k_default_token_life);
  if (json.contains("expires_in") && json["expires_in"].is_number_integer() && json["expires_in"].get<long long>() > 0)
    life = std::chrono::seconds(json["expires_in"].get<long long>());
  m_token = std::move(token);
  m_expiry = m_clock.now() + life;
  return {};
}

}  // namespace sbpipe

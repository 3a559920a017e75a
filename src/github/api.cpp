#include "github/api.h"

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>

#include "http/url.h"

namespace sbpipe {
namespace {

using nlohmann::json;

constexpr size_t kPageSize = 100;
constexpr int kMaxPages = 50;  // 5000 releases or assets: far beyond any real release

bool valid_name_part(std::string_view part) {
  if (part.empty() || part.size() > 100 || part == "." || part == "..") return false;
  return std::all_of(part.begin(), part.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'; });
}

std::string string_field(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool bool_field(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_boolean() && it->get<bool>();
}

std::optional<long long> integer_header(const HttpResponse& response, std::string_view name) {
  auto value = response.header(name);
  if (!value) return std::nullopt;
  long long n = 0;
  auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
  if (ec != std::errc() || end != value->data() + value->size()) return std::nullopt;
  return n;
}

struct Origin {
  std::string scheme;
  std::string host;  // lowercase, without port or user information
};

// Scheme and host of an absolute URL ("" when it has none).
Origin split_origin(std::string_view url) {
  Origin out;
  auto colon = url.find("://");
  if (colon == std::string_view::npos) return out;
  out.scheme = std::string(url.substr(0, colon));
  std::string_view rest = url.substr(colon + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (auto at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
  if (rest.starts_with("[")) {
    rest = rest.substr(0, rest.find(']') + 1);
  } else if (auto port = rest.find(':'); port != std::string_view::npos) {
    rest = rest.substr(0, port);
  }
  out.host = std::string(rest);
  std::transform(out.host.begin(), out.host.end(), out.host.begin(), [](unsigned char c) { return std::tolower(c); });
  std::transform(out.scheme.begin(), out.scheme.end(), out.scheme.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

}  // namespace

Result<RepoName> RepoName::parse(std::string_view text, std::string_view what) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos || text.find('/', slash + 1) != std::string_view::npos ||
      !valid_name_part(text.substr(0, slash)) || !valid_name_part(text.substr(slash + 1)))
    return fail(ErrorKind::usage, std::string(what) + " '" + std::string(text) + "': expected OWNER/NAME");
  return RepoName{std::string(text.substr(0, slash)), std::string(text.substr(slash + 1))};
}

Result<ReleaseAsset> parse_release_asset(const json& object) {
  if (!object.is_object() || !object.contains("id") || !object["id"].is_number_integer() || !object.contains("name") ||
      !object["name"].is_string())
    return fail(ErrorKind::permanent, "GitHub answered an asset without id or name");
  ReleaseAsset asset;
  asset.id = object["id"].get<int64_t>();
  asset.name = object["name"].get<std::string>();
  asset.state = string_field(object, "state");
  asset.content_type = string_field(object, "content_type");
  if (auto it = object.find("size"); it != object.end() && it->is_number_unsigned()) asset.size = it->get<uint64_t>();
  std::string digest = string_field(object, "digest");
  if (digest.rfind("sha256:", 0) == 0 && digest.size() == 7 + 64) asset.sha256 = digest.substr(7);
  return asset;
}

Result<Release> parse_release(const json& object) {
  if (!object.is_object() || !object.contains("id") || !object["id"].is_number_integer())
    return fail(ErrorKind::permanent, "GitHub answered a release without an id");
  Release release;
  release.id = object["id"].get<int64_t>();
  release.tag_name = string_field(object, "tag_name");
  release.name = string_field(object, "name");
  release.body = string_field(object, "body");
  release.draft = bool_field(object, "draft");
  release.prerelease = bool_field(object, "prerelease");
  release.upload_url = string_field(object, "upload_url");
  release.html_url = string_field(object, "html_url");
  return release;
}

GitHubApi::GitHubApi(HttpClient& http, Clock& clock, std::string token, GitHubOptions options)
    : m_http(http), m_clock(clock), m_token(std::move(token)), m_options(std::move(options)), m_rng(std::random_device{}()) {
  while (!m_options.api_base.empty() && m_options.api_base.back() == '/') m_options.api_base.pop_back();
}

std::string GitHubApi::repo_url(const RepoName& repo, const std::string& path) const {
  return m_options.api_base + "/repos/" + repo.owner + "/" + repo.name + path;
}

Status GitHubApi::check_upload_host(const std::string& upload_url) const {
  auto api = split_origin(m_options.api_base);
  auto upload = split_origin(upload_url);
  bool same_host = upload.host == api.host;
  bool uploads_host = api.host.starts_with("api.") && upload.host == "uploads." + api.host.substr(4);
  bool no_downgrade = upload.scheme == api.scheme || upload.scheme == "https";
  if (!upload.host.empty() && (same_host || uploads_host) && no_downgrade) return {};
  return fail(ErrorKind::permanent, "GitHub answered an upload_url on " +
                                        (upload.host.empty() ? upload_url : upload.scheme + "://" + upload.host) +
                                        ", which is neither the API host " + api.host +
                                        " nor its uploads host; "
                                        "refusing to send the token there (is --github-api right?)");
}

Error GitHubApi::status_error(const HttpResponse& response, const std::string& what) const {
  std::string detail;
  bool exists = false;
  auto body = json::parse(response.body, nullptr, false);
  if (body.is_object()) {
    if (auto message = string_field(body, "message"); !message.empty()) detail = ": " + message;
    if (auto errors = body.find("errors"); errors != body.end() && errors->is_array()) {
      for (const auto& e : *errors) {
        if (!e.is_object()) continue;
        auto code = string_field(e, "code");
        auto field = string_field(e, "field");
        if (!code.empty()) detail += " (" + (field.empty() ? code : field + " " + code) + ")";
        exists = exists || code == "already_exists";
      }
    }
  }
  long s = response.status;
  exists = exists && s == 422;
  ErrorKind kind = exists                   ? ErrorKind::conflict
                   : s == 401 || s == 403   ? ErrorKind::auth
                   : s == 404               ? ErrorKind::not_found
                   : is_retryable_status(s) ? ErrorKind::transient
                                            : ErrorKind::permanent;
  if (kind == ErrorKind::auth && !m_options.token_source.empty())
    detail += " (token from " + m_options.token_source +
              "; it needs Contents: read and write on the repository, e.g. a fine-grained token for that repository)";
  return Error(kind, "GitHub: " + what + ": HTTP " + std::to_string(s) + detail);
}

// GitHub's rate limits: a primary limit per token (x-ratelimit-remaining: 0
// until the epoch second x-ratelimit-reset) and secondary limits (403 or 429,
// usually with Retry-After; without it, wait at least a minute).
std::optional<std::chrono::milliseconds> GitHubApi::rate_limit_wait(const HttpResponse& response, Error& why) {
  if (response.status != 403 && response.status != 429) return std::nullopt;
  auto now = m_clock.wall_now();
  if (auto ra = response.header("Retry-After")) {
    if (auto wait = parse_retry_after(*ra, now)) {
      why = Error(ErrorKind::transient, "GitHub secondary rate limit (retry-after " + *ra + ")");
      return *wait;
    }
  }
  if (response.header("x-ratelimit-remaining") == std::optional<std::string>("0")) {
    auto reset = integer_header(response, "x-ratelimit-reset");
    auto now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    long long seconds = reset ? std::max<long long>(*reset - now_s, 0) + 1 : 60;
    why = Error(ErrorKind::transient, "GitHub rate limit exhausted (resets in " + std::to_string(seconds) + " s)");
    return std::chrono::milliseconds(seconds * 1000);
  }
  auto body = json::parse(response.body, nullptr, false);
  std::string message = body.is_object() ? string_field(body, "message") : "";
  std::transform(message.begin(), message.end(), message.begin(), [](unsigned char c) { return std::tolower(c); });
  if (response.status == 429 || message.find("rate limit") != std::string::npos) {
    why = Error(ErrorKind::transient, "GitHub secondary rate limit");
    return std::chrono::milliseconds(60'000);
  }
  return std::nullopt;  // a plain 403: permission, not a limit
}

Result<HttpResponse> GitHubApi::call(HttpRequest request, const SourceOpener* body, RetryOn retry_on) {
  request.headers.emplace_back("Authorization", "Bearer " + m_token);
  if (!find_header(request.headers, "Accept")) request.headers.emplace_back("Accept", "application/vnd.github+json");
  request.headers.emplace_back("X-GitHub-Api-Version", "2022-11-28");
  const int max_attempts = m_options.policy.max_attempts;
  for (int attempt = 1;; ++attempt) {
    std::unique_ptr<ByteSource> source;
    if (body != nullptr) {
      auto opened = (*body)();
      if (!opened) return fail(opened.error());
      source = std::move(*opened);
      request.body = source.get();
    }
    ++m_requests;
    auto response = m_http.send(request);
    std::chrono::milliseconds wait{0};
    if (response) {
      Error why(ErrorKind::transient, "");
      if (auto limited = rate_limit_wait(*response, why)) {
        if (attempt >= max_attempts) return fail(why.with_context(request.method + " " + request.url));
        if (*limited > m_options.max_rate_limit_wait)
          return fail(Error(ErrorKind::transient, why.message() + "; not waiting longer than " +
                                                      std::to_string(m_options.max_rate_limit_wait.count()) + " s"));
        wait = *limited;
        spdlog::warn("{}, waiting {} s (attempt {} of {})", why.message(), (wait.count() + 999) / 1000, attempt, max_attempts);
      } else if (retry_on != RetryOn::rate_limits_only && is_retryable_status(response->status) && attempt < max_attempts) {
        wait = backoff_delay(m_options.policy, attempt, m_rng);
        spdlog::warn("GitHub: {} answered HTTP {} ({})", request.method, response->status,
                     retry_note(attempt, max_attempts, wait));
      } else {
        return response;
      }
    } else {
      if (retry_on != RetryOn::everything || !response.error().retryable() || attempt >= max_attempts)
        return fail(response.error());
      wait = backoff_delay(m_options.policy, attempt, m_rng);
      spdlog::warn("GitHub: {} ({})", response.error().message(), retry_note(attempt, max_attempts, wait));
    }
    m_clock.sleep_for(wait);
  }
}

Result<json> GitHubApi::call_json(const std::string& method, const std::string& url, const std::string& what, const json* body,
                                  std::initializer_list<long> ok_statuses) {
  HttpRequest request;
  request.method = method;
  request.url = url;
  SourceOpener opener;
  if (body != nullptr) {
    std::string text = body->dump();
    request.headers.emplace_back("Content-Type", "application/json");
    request.body_size = text.size();
    opener = memory_opener(std::move(text));
  }
  auto response = call(request, body != nullptr ? &opener : nullptr, RetryOn::everything);
  if (!response) return fail(response.error().with_context("GitHub: " + what));
  if (std::find(ok_statuses.begin(), ok_statuses.end(), response->status) == ok_statuses.end())
    return fail(status_error(*response, what));
  if (response->body.empty()) return json();
  auto parsed = json::parse(response->body, nullptr, false);
  if (parsed.is_discarded()) return fail(ErrorKind::permanent, "GitHub: " + what + ": the answer is not JSON");
  return parsed;
}

Result<RepoAccess> GitHubApi::repo_access(const RepoName& repo) {
  HttpRequest request;
  request.method = "GET";
  request.url = repo_url(repo, "");
  const std::string what = "repository " + repo.str();
  auto response = call(request, nullptr, RetryOn::everything);
  if (!response) return fail(response.error().with_context("GitHub: " + what));
  if (response->status != 200) return fail(status_error(*response, what));
  auto body = json::parse(response->body, nullptr, false);
  if (!body.is_object()) return fail(ErrorKind::permanent, "GitHub: " + what + ": the answer is not a JSON object");
  RepoAccess access;
  access.is_private = body.value("private", false);
  if (auto p = body.find("permissions"); p != body.end() && p->is_object()) access.push = p->value("push", false);
  if (auto header = response->header("X-OAuth-Scopes")) {
    std::vector<std::string> scopes;
    for (size_t start = 0; start < header->size();) {
      size_t end = std::min(header->find(',', start), header->size());
      auto scope = header->substr(start, end - start);
      scope.erase(0, scope.find_first_not_of(' '));
      scope.erase(scope.find_last_not_of(' ') + 1);
      if (!scope.empty()) scopes.push_back(scope);
      start = end + 1;
    }
    access.scopes = std::move(scopes);
  }
  return access;
}

Result<Release> GitHubApi::find_release(const RepoName& repo, const std::string& tag) {
  std::string what = "release " + tag + " of " + repo.str();
  auto published = call_json("GET", repo_url(repo, "/releases/tags/" + percent_encode(tag)), what, nullptr, {200});
  if (published) return parse_release(*published);
  if (published.error().kind() != ErrorKind::not_found) return fail(published.error());
  // Drafts have no tag yet as far as releases/tags is concerned: list them.
  // Several drafts may carry the same tag; guessing would publish the wrong one.
  std::vector<Release> drafts;
  for (int page = 1; page <= kMaxPages; ++page) {
    std::string url = repo_url(repo, "/releases?per_page=" + std::to_string(kPageSize) + "&page=" + std::to_string(page));
    auto listed = call_json("GET", url, "list releases of " + repo.str(), nullptr, {200});
    if (!listed) return fail(listed.error());
    if (!listed->is_array()) return fail(ErrorKind::permanent, "GitHub: list releases of " + repo.str() + ": not an array");
    for (const auto& item : *listed) {
      if (string_field(item, "tag_name") != tag) continue;
      auto release = parse_release(item);
      if (!release) return fail(release.error());
      drafts.push_back(std::move(*release));
    }
    if (listed->size() < kPageSize) break;
  }
  if (drafts.empty())
    return fail(ErrorKind::not_found, "GitHub: " + what +
                                          ": no such release (neither published nor draft); create it as a pre-release "
                                          "(README, step 2): gh release create " +
                                          tag + " --repo " + repo.str() + " --prerelease --verify-tag");
  if (drafts.size() > 1) {
    std::string ids;
    for (const auto& d : drafts) ids += (ids.empty() ? "" : ", ") + std::to_string(d.id);
    return fail(ErrorKind::conflict, "GitHub: " + what + ": " + std::to_string(drafts.size()) +
                                         " draft releases carry this tag (ids " + ids + "); pass --release-id to pick one");
  }
  return std::move(drafts.front());
}

Result<Release> GitHubApi::get_release(const RepoName& repo, int64_t release_id) {
  std::string what = "release id " + std::to_string(release_id) + " of " + repo.str();
  auto found = call_json("GET", repo_url(repo, "/releases/" + std::to_string(release_id)), what, nullptr, {200});
  if (!found) {
    if (found.error().kind() == ErrorKind::not_found)
      return fail(ErrorKind::not_found, "GitHub: " + what + ": no such release (deleted?)");
    return fail(found.error());
  }
  return parse_release(*found);
}

Result<std::vector<ReleaseAsset>> GitHubApi::list_assets(const RepoName& repo, int64_t release_id) {
  std::vector<ReleaseAsset> assets;
  for (int page = 1; page <= kMaxPages; ++page) {
    std::string url = repo_url(repo, "/releases/" + std::to_string(release_id) + "/assets?per_page=" + std::to_string(kPageSize) +
                                         "&page=" + std::to_string(page));
    auto listed = call_json("GET", url, "list assets of release " + std::to_string(release_id), nullptr, {200});
    if (!listed) return fail(listed.error());
    if (!listed->is_array()) return fail(ErrorKind::permanent, "GitHub: list assets: not an array");
    for (const auto& item : *listed) {
      auto asset = parse_release_asset(item);
      if (!asset) return fail(asset.error());
      assets.push_back(std::move(*asset));
    }
    if (listed->size() < kPageSize) break;
  }
  return assets;
}

Result<ReleaseAsset> GitHubApi::upload_asset(const Release& release, const std::string& name, const std::string& content_type,
                                             uint64_t size, const SourceOpener& open) {
  std::string base = release.upload_url.substr(0, release.upload_url.find('{'));
  if (base.empty()) return fail(ErrorKind::permanent, "GitHub: release " + release.tag_name + " has no upload_url");
  if (auto st = check_upload_host(base); !st) return fail(st.error());
  HttpRequest request;
  request.method = "POST";
  request.url = add_query(base, "name", name);
  request.headers.emplace_back("Content-Type", content_type);
  request.headers.emplace_back("Expect", "");  // no 100-continue round trip
  request.body_size = size;
  auto response = call(request, &open, RetryOn::rate_limits_only);
  if (!response) return fail(response.error().with_context("GitHub: upload " + name));
  if (response->status != 201) return fail(status_error(*response, "upload " + name));
  auto parsed = json::parse(response->body, nullptr, false);
  if (parsed.is_discarded()) return fail(ErrorKind::permanent, "GitHub: upload " + name + ": the answer is not JSON");
  return parse_release_asset(parsed);
}

Status GitHubApi::delete_asset(const RepoName& repo, int64_t asset_id) {
  auto deleted = call_json("DELETE", repo_url(repo, "/releases/assets/" + std::to_string(asset_id)),
                           "delete asset " + std::to_string(asset_id), nullptr, {204, 404});
  if (!deleted) return fail(deleted.error());
  return {};
}

Result<ReleaseAsset> GitHubApi::rename_asset(const RepoName& repo, int64_t asset_id, const std::string& name) {
  json body = {{"name", name}};
  auto renamed = call_json("PATCH", repo_url(repo, "/releases/assets/" + std::to_string(asset_id)),
                           "rename asset " + std::to_string(asset_id) + " to " + name, &body, {200});
  if (!renamed) return fail(renamed.error());
  return parse_release_asset(*renamed);
}

Status GitHubApi::download_asset(const RepoName& repo, int64_t asset_id,
                                 const std::function<Status(std::span<const char>)>& sink) {
  HttpRequest request;
  request.url = repo_url(repo, "/releases/assets/" + std::to_string(asset_id));
  request.headers.emplace_back("Accept", "application/octet-stream");
  request.follow_redirects = true;  // curl does not carry Authorization to another host
  request.on_body = sink;
  // Statuses only: once bytes reached the sink, a broken connection cannot
  // be retried here.
  auto response = call(request, nullptr, RetryOn::statuses_only);
  if (!response) return fail(response.error().with_context("GitHub: download asset " + std::to_string(asset_id)));
  if (response->status != 200) return fail(status_error(*response, "download asset " + std::to_string(asset_id)));
  return {};
}

Result<Release> GitHubApi::update_release(const RepoName& repo, int64_t release_id, const json& fields) {
  auto updated = call_json("PATCH", repo_url(repo, "/releases/" + std::to_string(release_id)),
                           "update release " + std::to_string(release_id), &fields, {200});
  if (!updated) return fail(updated.error());
  return parse_release(*updated);
}

}  // namespace sbpipe

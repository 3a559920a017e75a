#include "support/github_standin.h"

#include <openssl/evp.h>

#include <chrono>
#include <stdexcept>

#include "support/github_standin_impl.h"

namespace sbpipe::test {
namespace {

using nlohmann::json;

long long epoch_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The API versions GitHub's REST docs list as supported ("API Versions",
// docs.github.com/en/rest/about-the-rest-api/api-versions).
bool supported_api_version(const std::string& version) { return version == "2022-11-28" || version == "2026-03-10"; }

// A simple-user as the description requires it (#/components/schemas/simple-user).
json user_json(const std::string& api_base) {
  std::string url = api_base + "/users/release-bot";
  return {{"login", "release-bot"},
          {"id", 41898282},
          {"node_id", "MDQ6VXNlcjQxODk4Mjgy"},
          {"avatar_url", "https://avatars.githubusercontent.invalid/u/41898282?v=4"},
          {"gravatar_id", ""},
          {"url", url},
          {"html_url", "https://github.invalid/release-bot"},
          {"followers_url", url + "/followers"},
          {"following_url", url + "/following{/other_user}"},
          {"gists_url", url + "/gists{/gist_id}"},
          {"starred_url", url + "/starred{/owner}{/repo}"},
          {"subscriptions_url", url + "/subscriptions"},
          {"organizations_url", url + "/orgs"},
          {"repos_url", url + "/repos"},
          {"events_url", url + "/events{/privacy}"},
          {"received_events_url", url + "/received_events"},
          {"type", "Bot"},
          {"site_admin", false}};
}

}  // namespace

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json; charset=utf-8");
}

void not_found(httplib::Response& res) {
  send_json(res, 404, {{"message", "Not Found"}, {"documentation_url", "https://docs.github.com/rest"}, {"status", "404"}});
}

void validation_failed(httplib::Response& res, const std::string& resource, const std::string& code, const std::string& field) {
  send_json(res, 422,
            {{"message", "Validation Failed"},
             {"errors", json::array({{{"resource", resource}, {"code", code}, {"field", field}}})},
             {"documentation_url", "https://docs.github.com/rest/releases/assets"},
             {"status", "422"}});
}

void unprocessable(httplib::Response& res, const std::string& message) {
  send_json(res, 422, {{"message", message}, {"documentation_url", "https://docs.github.com/rest/releases"}, {"status", "422"}});
}

std::string sha256_of_bytes(const unsigned char* digest, size_t n) {
  static const char* k_hex = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += k_hex[digest[i] >> 4];
    out += k_hex[digest[i] & 15];
  }
  return out;
}

json GitHubStandIn::Impl::asset_json(const StandInRelease& release, const StandInAsset& a) const {
  json digest = (a.has_digest && !faults.omit_digests && a.state == "uploaded") ? json("sha256:" + a.sha256) : json(nullptr);
  return {{"id", a.id},
          {"node_id", "RA_kwDOstandin" + std::to_string(a.id)},
          {"name", a.name},
          {"label", ""},
          {"state", a.state},
          {"size", a.size},
          {"digest", digest},
          {"content_type", a.content_type},
          {"download_count", 0},
          {"url", api_base() + "/repos/" + release.repo + "/releases/assets/" + std::to_string(a.id)},
          {"browser_download_url", "https://github.invalid/" + release.repo + "/releases/download/" + release.tag + "/" + a.name},
          {"uploader", user_json(api_base())},
          {"created_at", "2026-11-22T10:00:00Z"},
          {"updated_at", "2026-11-22T10:00:00Z"}};
}

json GitHubStandIn::Impl::release_json(const StandInRelease& r) const {
  json assets = json::array();
  for (const auto& a : r.assets) assets.push_back(asset_json(r, a));
  std::string upload_origin = faults.upload_url_origin.empty() ? upload_base() : faults.upload_url_origin;
  return {{"id", r.id},
          {"node_id", "RE_kwDOstandin" + std::to_string(r.id)},
          {"tag_name", r.tag},
          {"target_commitish", "main"},
          {"name", r.name},
          {"body", r.body},
          {"draft", r.draft},
          {"prerelease", r.prerelease},
          {"immutable", r.immutable},
          {"author", user_json(api_base())},
          {"url", api_base() + "/repos/" + r.repo + "/releases/" + std::to_string(r.id)},
          {"html_url", "https://github.invalid/" + r.repo + "/releases/tag/" + r.tag},
          {"assets_url", api_base() + "/repos/" + r.repo + "/releases/" + std::to_string(r.id) + "/assets"},
          {"upload_url", upload_origin + "/repos/" + r.repo + "/releases/" + std::to_string(r.id) + "/assets{?name,label}"},
          {"tarball_url", api_base() + "/repos/" + r.repo + "/tarball/" + r.tag},
          {"zipball_url", api_base() + "/repos/" + r.repo + "/zipball/" + r.tag},
          {"created_at", "2026-11-22T09:00:00Z"},
          {"updated_at", "2026-11-22T10:00:00Z"},
          {"published_at", r.draft ? json(nullptr) : json("2026-11-22T10:00:00Z")},
          {"assets", assets}};
}

StandInRelease* GitHubStandIn::Impl::find_release(const std::string& repo, int64_t id) {
  auto it = releases.find(id);
  return it == releases.end() || it->second.repo != repo ? nullptr : &it->second;
}

std::pair<StandInRelease*, StandInAsset*> GitHubStandIn::Impl::find_asset(const std::string& repo, int64_t id) {
  for (auto& [rid, r] : releases) {
    if (r.repo != repo) continue;
    for (auto& a : r.assets)
      if (a.id == id) return {&r, &a};
  }
  return {nullptr, nullptr};
}

bool GitHubStandIn::Impl::admit(const httplib::Request& req, httplib::Response& res, const std::string& entry) {
  std::lock_guard lock(mutex);
  log.push_back(entry);
  long long reset = epoch_seconds() + 3600;
  auto headers = [&](int left, long long reset_at) {
    res.set_header("x-ratelimit-limit", "5000");
    res.set_header("x-ratelimit-remaining", std::to_string(left));
    res.set_header("x-ratelimit-reset", std::to_string(reset_at));
    res.set_header("x-ratelimit-used", std::to_string(5000 - left));
    res.set_header("x-ratelimit-resource", "core");
  };
  // "Requests with no User-Agent header will be rejected" (403).
  if (req.get_header_value("User-Agent").empty()) {
    log.back() += " -> 403 no user agent";
    send_json(res, 403,
              {{"message",
                "Request forbidden by administrative rules. Please make sure your request has a User-Agent "
                "header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required)."},
               {"documentation_url", "https://docs.github.com/rest"}});
    return false;
  }
  // "If you specify an API version that is no longer supported, you will receive a 400 error."
  if (req.has_header("X-GitHub-Api-Version") && !supported_api_version(req.get_header_value("X-GitHub-Api-Version"))) {
    log.back() += " -> 400 api version";
    send_json(res, 400,
              {{"message", "Unsupported 'X-GitHub-Api-Version' header: " + req.get_header_value("X-GitHub-Api-Version")},
               {"documentation_url", "https://docs.github.com/rest/about-the-rest-api/api-versions"},
               {"status", "400"}});
    return false;
  }
  auto auth = req.get_header_value("Authorization");
  if (auth != "Bearer " + token && auth != "token " + token) {
    headers(remaining, reset);
    log.back() += " -> 401";
    send_json(res, 401,
              {{"message", "Bad credentials"}, {"documentation_url", "https://docs.github.com/rest"}, {"status", "401"}});
    return false;
  }
  if (!faults.oauth_scopes.empty()) res.set_header("X-OAuth-Scopes", faults.oauth_scopes);
  if (faults.read_only && req.method != "GET") {
    headers(remaining, reset);
    log.back() += " -> 403 read-only";
    res.set_header("X-Accepted-GitHub-Permissions", "contents=write");
    send_json(res, 403,
              {{"message", "Resource not accessible by personal access token"},
               {"documentation_url", "https://docs.github.com/rest/releases/releases"},
               {"status", "403"}});
    return false;
  }
  bool limited = entry.starts_with(faults.rate_limit_match);
  if (limited && faults.primary_rate_limits > 0) {
    --faults.primary_rate_limits;
    headers(0, epoch_seconds() + 1);
    log.back() += " -> 403 rate limit";
    send_json(res, 403, {{"message", "API rate limit exceeded for user ID 1."}, {"status", "403"}});
    return false;
  }
  if (limited && faults.secondary_rate_limits > 0) {
    --faults.secondary_rate_limits;
    headers(remaining, reset);
    res.set_header("retry-after", "1");
    log.back() += " -> 403 secondary";
    send_json(res, 403,
              {{"message", "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."},
               {"status", "403"}});
    return false;
  }
  headers(--remaining, reset);
  return true;
}

std::string GitHubStandIn::Impl::asset_label(const httplib::Request& req) {
  std::lock_guard lock(mutex);
  auto [r, a] = find_asset(req.matches[1].str(), std::stoll(req.matches[2].str()));
  return a != nullptr ? a->name : "#" + req.matches[2].str();
}

void GitHubStandIn::Impl::page(const httplib::Request& req, httplib::Response& res, const json& all, const std::string& path) {
  size_t per_page = req.has_param("per_page") ? std::stoul(req.get_param_value("per_page")) : 30;
  size_t page_no = req.has_param("page") ? std::stoul(req.get_param_value("page")) : 1;
  per_page = std::min<size_t>(std::max<size_t>(per_page, 1), 100);
  json items = json::array();
  for (size_t i = (page_no - 1) * per_page; i < all.size() && i < page_no * per_page; ++i) items.push_back(all[i]);
  if (page_no * per_page < all.size())
    res.set_header("Link", "<" + api_base() + path + "?per_page=" + std::to_string(per_page) +
                               "&page=" + std::to_string(page_no + 1) + ">; rel=\"next\"");
  send_json(res, 200, items);
}

GitHubStandIn::GitHubStandIn(std::string token) : m_impl(std::make_unique<Impl>()), m_token(std::move(token)) {
  m_impl->token = m_token;
  m_impl->routes();
  m_impl->api_port = m_impl->api.bind_to_any_port("127.0.0.1");
  m_impl->upload_port = m_impl->uploads.bind_to_any_port("127.0.0.1");
  if (m_impl->api_port <= 0 || m_impl->upload_port <= 0) throw std::runtime_error("GitHub stand-in: cannot bind");
  m_api_port = m_impl->api_port;
  m_impl->api_thread = std::thread([this] { m_impl->api.listen_after_bind(); });
  m_impl->upload_thread = std::thread([this] { m_impl->uploads.listen_after_bind(); });
  wait_for_port(m_impl->api_port);
  wait_for_port(m_impl->upload_port);
}

GitHubStandIn::~GitHubStandIn() {
  m_impl->api.stop();
  m_impl->uploads.stop();
  if (m_impl->api_thread.joinable()) m_impl->api_thread.join();
  if (m_impl->upload_thread.joinable()) m_impl->upload_thread.join();
}

std::string GitHubStandIn::api_url() const { return m_impl->api_base(); }

int64_t GitHubStandIn::create_release(const std::string& repo, const std::string& tag, bool prerelease, bool draft,
                                      const std::string& body) {
  std::lock_guard lock(m_impl->mutex);
  StandInRelease r;
  r.id = ++m_impl->next_id;
  r.repo = repo;
  r.tag = tag;
  r.name = tag;
  r.body = body;
  r.prerelease = prerelease;
  r.draft = draft;
  m_impl->releases[r.id] = r;
  return r.id;
}

void GitHubStandIn::set_immutable(int64_t release_id, bool immutable) {
  std::lock_guard lock(m_impl->mutex);
  m_impl->releases.at(release_id).immutable = immutable;
}

void GitHubStandIn::set_draft(int64_t release_id, bool draft) {
  std::lock_guard lock(m_impl->mutex);
  m_impl->releases.at(release_id).draft = draft;
}

void GitHubStandIn::delete_release(int64_t release_id) {
  std::lock_guard lock(m_impl->mutex);
  m_impl->releases.erase(release_id);
}

int64_t GitHubStandIn::add_asset(int64_t release_id, const std::string& name, const std::string& content,
                                 const std::string& state) {
  std::lock_guard lock(m_impl->mutex);
  StandInAsset a;
  a.id = ++m_impl->next_id;
  a.name = name;
  a.state = state;
  a.size = content.size();
  unsigned char digest[32];
  unsigned int len = 0;
  EVP_Digest(content.data(), content.size(), digest, &len, EVP_sha256(), nullptr);
  a.sha256 = sha256_of_bytes(digest, len);
  a.content_type = "application/octet-stream";
  a.file = m_impl->storage.path() / std::to_string(a.id);
  write_file(a.file, content);
  m_impl->releases.at(release_id).assets.push_back(a);
  return a.id;
}

void GitHubStandIn::remove_asset(int64_t release_id, const std::string& name) {
  std::lock_guard lock(m_impl->mutex);
  std::erase_if(m_impl->releases.at(release_id).assets, [&](const StandInAsset& a) { return a.name == name; });
}

StandInRelease GitHubStandIn::release(int64_t release_id) {
  std::lock_guard lock(m_impl->mutex);
  return m_impl->releases.at(release_id);
}

bool GitHubStandIn::has_release(int64_t release_id) {
  std::lock_guard lock(m_impl->mutex);
  return m_impl->releases.count(release_id) != 0;
}

std::optional<StandInAsset> GitHubStandIn::asset(int64_t release_id, const std::string& name) {
  std::lock_guard lock(m_impl->mutex);
  for (const auto& a : m_impl->releases.at(release_id).assets)
    if (a.name == name) return a;
  return std::nullopt;
}

std::string GitHubStandIn::content(const StandInAsset& asset) { return read_file(asset.file); }

std::optional<int64_t> GitHubStandIn::latest(const std::string& repo) {
  std::lock_guard lock(m_impl->mutex);
  auto it = m_impl->latest.find(repo);
  if (it == m_impl->latest.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> GitHubStandIn::requests() {
  std::lock_guard lock(m_impl->mutex);
  return m_impl->log;
}

void GitHubStandIn::clear_requests() {
  std::lock_guard lock(m_impl->mutex);
  m_impl->log.clear();
}

void GitHubStandIn::with_faults(const std::function<void(StandInFaults&)>& change) {
  std::lock_guard lock(m_impl->mutex);
  change(m_impl->faults);
}

int GitHubStandIn::leaked_authorizations() {
  std::lock_guard lock(m_impl->mutex);
  return m_impl->leaked_authorizations;
}

}  // namespace sbpipe::test

#include "support/github_standin.h"

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include <chrono>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "support/process.h"

namespace sbpipe::test {
namespace {

using nlohmann::json;

std::string hex_of(const unsigned char* digest, size_t n) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

long long epoch_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json; charset=utf-8");
}

void not_found(httplib::Response& res) {
  send_json(res, 404, {{"message", "Not Found"}, {"documentation_url", "https://docs.github.com/rest"}, {"status", "404"}});
}

void validation_failed(httplib::Response& res, const std::string& resource, const std::string& code,
                       const std::string& field) {
  send_json(res, 422, {{"message", "Validation Failed"},
                       {"errors", json::array({{{"resource", resource}, {"code", code}, {"field", field}}})},
                       {"status", "422"}});
}

} // namespace

struct GitHubStandIn::Impl {
  std::string token;
  TempDir storage;
  httplib::Server api;
  httplib::Server uploads;
  int api_port = 0;
  int upload_port = 0;
  std::thread api_thread;
  std::thread upload_thread;

  std::mutex mutex;
  std::map<int64_t, StandInRelease> releases;
  std::map<std::string, int64_t> latest;
  int64_t next_id = 1000;
  StandInFaults faults;
  std::vector<std::string> log;
  int leaked_authorizations = 0;
  int remaining = 5000;

  std::string upload_base() const { return "http://127.0.0.1:" + std::to_string(upload_port); }
  std::string api_base() const { return "http://127.0.0.1:" + std::to_string(api_port); }

  json asset_json(const StandInRelease& release, const StandInAsset& a) const {
    json digest = (a.has_digest && !faults.omit_digests && a.state == "uploaded") ? json("sha256:" + a.sha256) : json(nullptr);
    return {{"id", a.id},
            {"name", a.name},
            {"label", ""},
            {"state", a.state},
            {"size", a.size},
            {"digest", digest},
            {"content_type", a.content_type},
            {"download_count", 0},
            {"url", api_base() + "/repos/" + release.repo + "/releases/assets/" + std::to_string(a.id)},
            {"browser_download_url", "https://github.invalid/" + release.repo + "/releases/download/" + release.tag + "/" + a.name},
            {"created_at", "2026-11-22T10:00:00Z"},
            {"updated_at", "2026-11-22T10:00:00Z"}};
  }

  json release_json(const StandInRelease& r) const {
    json assets = json::array();
    for (const auto& a : r.assets) assets.push_back(asset_json(r, a));
    return {{"id", r.id},
            {"tag_name", r.tag},
            {"name", r.name},
            {"body", r.body},
            {"draft", r.draft},
            {"prerelease", r.prerelease},
            {"immutable", r.immutable},
            {"url", api_base() + "/repos/" + r.repo + "/releases/" + std::to_string(r.id)},
            {"html_url", "https://github.invalid/" + r.repo + "/releases/tag/" + r.tag},
            {"assets_url", api_base() + "/repos/" + r.repo + "/releases/" + std::to_string(r.id) + "/assets"},
            {"upload_url", upload_base() + "/repos/" + r.repo + "/releases/" + std::to_string(r.id) + "/assets{?name,label}"},
            {"published_at", r.draft ? json(nullptr) : json("2026-11-22T10:00:00Z")},
            {"assets", assets}};
  }

  StandInRelease* find_release(const std::string& repo, int64_t id) {
    auto it = releases.find(id);
    return it == releases.end() || it->second.repo != repo ? nullptr : &it->second;
  }

  std::pair<StandInRelease*, StandInAsset*> find_asset(const std::string& repo, int64_t id) {
    for (auto& [rid, r] : releases) {
      if (r.repo != repo) continue;
      for (auto& a : r.assets)
        if (a.id == id) return {&r, &a};
    }
    return {nullptr, nullptr};
  }

  // Authorization, rate limits and logging, for every API request. Returns
  // false when the request was answered here.
  bool admit(const httplib::Request& req, httplib::Response& res, const std::string& entry) {
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
    auto auth = req.get_header_value("Authorization");
    if (auth != "Bearer " + token && auth != "token " + token) {
      headers(remaining, reset);
      log.back() += " -> 401";
      send_json(res, 401, {{"message", "Bad credentials"}, {"status", "401"}});
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
      send_json(res, 403, {{"message", "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."},
                           {"status", "403"}});
      return false;
    }
    headers(--remaining, reset);
    return true;
  }

  // "name" of the asset a request names by id, or "#id" when unknown.
  std::string asset_label(const httplib::Request& req) {
    std::lock_guard lock(mutex);
    auto [r, a] = find_asset(req.matches[1].str(), std::stoll(req.matches[2].str()));
    return a != nullptr ? a->name : "#" + req.matches[2].str();
  }

  void page(const httplib::Request& req, httplib::Response& res, const json& all, const std::string& path) {
    size_t per_page = req.has_param("per_page") ? std::stoul(req.get_param_value("per_page")) : 30;
    size_t page_no = req.has_param("page") ? std::stoul(req.get_param_value("page")) : 1;
    per_page = std::min<size_t>(std::max<size_t>(per_page, 1), 100);
    json items = json::array();
    for (size_t i = (page_no - 1) * per_page; i < all.size() && i < page_no * per_page; ++i) items.push_back(all[i]);
    if (page_no * per_page < all.size())
      res.set_header("Link", "<" + api_base() + path + "?per_page=" + std::to_string(per_page) + "&page=" +
                                 std::to_string(page_no + 1) + ">; rel=\"next\"");
    send_json(res, 200, items);
  }

  void routes();
};

void GitHubStandIn::Impl::routes() {
  const std::string repo_re = R"(/repos/([^/]+/[^/]+))";

  api.Get(repo_re + R"(/releases/tags/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
    if (!admit(req, res, "GET tags/" + req.matches[2].str())) return;
    std::lock_guard lock(mutex);
    for (const auto& [id, r] : releases)
      if (r.repo == req.matches[1].str() && r.tag == req.matches[2].str() && !r.draft) return send_json(res, 200, release_json(r));
    not_found(res);
  });

  api.Get(repo_re + R"(/releases)", [this](const httplib::Request& req, httplib::Response& res) {
    if (!admit(req, res, "GET releases")) return;
    std::lock_guard lock(mutex);
    json all = json::array();
    for (auto it = releases.rbegin(); it != releases.rend(); ++it)  // newest first
      if (it->second.repo == req.matches[1].str()) all.push_back(release_json(it->second));
    page(req, res, all, "/repos/" + req.matches[1].str() + "/releases");
  });

  api.Get(repo_re + R"(/releases/latest)", [this](const httplib::Request& req, httplib::Response& res) {
    if (!admit(req, res, "GET latest")) return;
    std::lock_guard lock(mutex);
    auto it = latest.find(req.matches[1].str());
    if (it == latest.end()) return not_found(res);
    send_json(res, 200, release_json(releases.at(it->second)));
  });

  api.Get(repo_re + R"(/releases/(\d+)/assets)", [this](const httplib::Request& req, httplib::Response& res) {
    if (!admit(req, res, "GET assets")) return;
    std::lock_guard lock(mutex);
    auto* r = find_release(req.matches[1].str(), std::stoll(req.matches[2].str()));
    if (r == nullptr) return not_found(res);
    json all = json::array();
    for (const auto& a : r->assets) all.push_back(asset_json(*r, a));
    page(req, res, all, "/repos/" + req.matches[1].str() + "/releases/" + req.matches[2].str() + "/assets");
  });

  api.Get(repo_re + R"(/releases/assets/(\d+))", [this](const httplib::Request& req, httplib::Response& res) {
    bool download = req.get_header_value("Accept") == "application/octet-stream";
    if (!admit(req, res, "GET asset " + asset_label(req) + (download ? " download" : ""))) return;
    std::lock_guard lock(mutex);
    auto [r, a] = find_asset(req.matches[1].str(), std::stoll(req.matches[2].str()));
    if (a == nullptr) return not_found(res);
    if (download) {
      res.status = 302;
      res.set_header("Location", upload_base() + "/storage/" + std::to_string(a->id) + "?X-Amz-Signature=standin");
      return;
    }
    send_json(res, 200, asset_json(*r, *a));
  });

  api.Patch(repo_re + R"(/releases/assets/(\d+))", [this](const httplib::Request& req, httplib::Response& res) {
    if (!admit(req, res, "PATCH asset " + asset_label(req))) return;
    auto body = json::parse(req.body, nullptr, false);
    std::lock_guard lock(mutex);
    auto [r, a] = find_asset(req.matches[1].str(), std::stoll(req.matches[2].str()));
    if (a == nullptr) return not_found(res);
    if (!body.is_object() || (body.contains("name") && !body["name"].is_string()))
      return validation_failed(res, "ReleaseAsset", "invalid", "name");
    if (body.contains("name")) {
      std::string name = body["name"];
      for (const auto& other : r->assets)
        if (other.name == name && other.id != a->id) return validation_failed(res, "ReleaseAsset", "already_exists", "name");
      a->name = name;
      log.back() += " -> " + name;
    }
    send_json(res, 200, asset_json(*r, *a));
  });

  api.Delete(repo_re + R"(/releases/assets/(\d+))", [this](const httplib::Request& req, httplib::Response& res) {
    if (!admit(req, res, "DELETE asset " + asset_label(req))) return;
    std::lock_guard lock(mutex);
    auto [r, a] = find_asset(req.matches[1].str(), std::stoll(req.matches[2].str()));
    if (a == nullptr) return not_found(res);
    std::error_code ignored;
    std::filesystem::remove(a->file, ignored);
    std::erase_if(r->assets, [&](const StandInAsset& x) { return x.id == a->id; });
    res.status = 204;
  });

  api.Patch(repo_re + R"(/releases/(\d+))", [this](const httplib::Request& req, httplib::Response& res) {
    if (!admit(req, res, "PATCH release")) return;
    auto body = json::parse(req.body, nullptr, false);
    std::lock_guard lock(mutex);
    auto* r = find_release(req.matches[1].str(), std::stoll(req.matches[2].str()));
    if (r == nullptr) return not_found(res);
    if (!body.is_object()) return send_json(res, 400, {{"message", "Problems parsing JSON"}});
    for (const char* key : {"draft", "prerelease"})
      if (body.contains(key) && !body[key].is_boolean()) return validation_failed(res, "Release", "invalid", key);
    for (const char* key : {"body", "name", "tag_name"})
      if (body.contains(key) && !body[key].is_string()) return validation_failed(res, "Release", "invalid", key);
    std::string make_latest = "legacy";
    if (body.contains("make_latest")) {
      if (!body["make_latest"].is_string()) return validation_failed(res, "Release", "invalid", "make_latest");
      make_latest = body["make_latest"];
      if (make_latest != "true" && make_latest != "false" && make_latest != "legacy")
        return validation_failed(res, "Release", "invalid", "make_latest");
    }
    bool draft = body.value("draft", r->draft);
    bool prerelease = body.value("prerelease", r->prerelease);
    if (make_latest == "true" && (draft || prerelease))
      return validation_failed(res, "Release", "invalid", "make_latest");  // drafts and pre-releases cannot be latest
    r->draft = draft;
    r->prerelease = prerelease;
    if (body.contains("body")) r->body = body["body"];
    if (body.contains("name")) r->name = body["name"];
    if (!draft && !prerelease && make_latest != "false") latest[r->repo] = r->id;
    std::string fields;
    for (auto it = body.begin(); it != body.end(); ++it) fields += " " + it.key();
    log.back() += fields;
    send_json(res, 200, release_json(*r));
  });

  // The upload host: uploads (streamed to disk and hashed) and storage.
  uploads.Post(repo_re + R"(/releases/(\d+)/assets)",
               [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
                 std::string name = req.has_param("name") ? req.get_param_value("name") : "";
                 if (!admit(req, res, "POST upload " + name)) return;
                 int64_t release_id = std::stoll(req.matches[2].str());
                 StandInAsset asset;
                 {
                   std::lock_guard lock(mutex);
                   auto* r = find_release(req.matches[1].str(), release_id);
                   if (r == nullptr) return not_found(res);
                   if (name.empty()) return validation_failed(res, "ReleaseAsset", "missing_field", "name");
                   if (!req.has_header("Content-Length"))
                     return send_json(res, 411, {{"message", "Content-Length required"}});
                   if (req.get_header_value("Content-Type").empty())
                     return validation_failed(res, "ReleaseAsset", "missing_field", "content_type");
                   if (r->immutable && !r->draft)
                     return send_json(res, 422, {{"message", "Cannot upload assets to an immutable release."}});
                   for (const auto& other : r->assets)
                     if (other.name == name) return validation_failed(res, "ReleaseAsset", "already_exists", "name");
                   asset.id = ++next_id;
                   asset.name = name;
                   asset.state = "starter";
                   asset.content_type = req.get_header_value("Content-Type");
                   asset.file = storage.path() / std::to_string(asset.id);
                   r->assets.push_back(asset);  // the name is taken while the upload runs
                 }
                 std::ofstream out(asset.file, std::ios::binary);
                 EVP_MD_CTX* ctx = EVP_MD_CTX_new();
                 EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
                 uint64_t size = 0;
                 std::function<bool(const std::string&)> during;
                 {
                   std::lock_guard lock(mutex);
                   during = faults.during_upload;
                 }
                 reader([&](const char* data, size_t n) {
                   out.write(data, static_cast<std::streamsize>(n));
                   EVP_DigestUpdate(ctx, data, n);
                   size += n;
                   if (during && size == n && during(name)) {  // the first bytes
                     during = nullptr;
                     return false;  // the connection is lost mid-body
                   }
                   return true;
                 });
                 out.close();
                 unsigned char digest[32];
                 unsigned int len = 0;
                 EVP_DigestFinal_ex(ctx, digest, &len);
                 EVP_MD_CTX_free(ctx);
                 std::function<void(const std::string&)> hook;
                 json answer;
                 bool fail502 = false;
                 {
                   std::lock_guard lock(mutex);
                   auto [r, stored] = find_asset(req.matches[1].str(), asset.id);
                   if (stored == nullptr) return not_found(res);
                   stored->size = size;
                   if (size != std::stoull(req.get_header_value("Content-Length"))) {
                     // The client went away mid-body: GitHub keeps the asset as "starter".
                     log.push_back("(upload " + name + " broken off, left in state starter)");
                     return;
                   }
                   if (faults.upload_502 > 0) {
                     --faults.upload_502;
                     fail502 = true;  // the asset stays "starter"
                   } else {
                     stored->state = "uploaded";
                     stored->sha256 = hex_of(digest, len);
                     answer = asset_json(*r, *stored);
                   }
                   hook = faults.after_upload;
                 }
                 if (fail502) {
                   {
                     std::lock_guard lock(mutex);
                     log.push_back("(upload " + name + " answered 502, left in state starter)");
                   }
                   res.status = 502;
                   res.set_content("<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html");
                   return;
                 }
                 if (hook) hook(name);
                 send_json(res, 201, answer);
               });

  uploads.Get(R"(/storage/(\d+))", [this](const httplib::Request& req, httplib::Response& res) {
    std::filesystem::path file;
    uint64_t size = 0;
    {
      std::lock_guard lock(mutex);
      log.push_back("GET storage");
      if (req.has_header("Authorization")) {
        ++leaked_authorizations;  // S3 refuses a second auth mechanism
        res.status = 400;
        res.set_content("<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>",
                        "application/xml");
        return;
      }
      for (const auto& [id, r] : releases)
        for (const auto& a : r.assets)
          if (std::to_string(a.id) == req.matches[1].str()) {
            file = a.file;
            size = a.size;
          }
    }
    if (file.empty()) {
      res.status = 404;
      return;
    }
    auto stream = std::make_shared<std::ifstream>(file, std::ios::binary);
    res.set_content_provider(size, "application/octet-stream",
                             [stream](size_t offset, size_t length, httplib::DataSink& sink) {
                               std::vector<char> buffer(std::min<size_t>(length, 1 << 16));
                               stream->seekg(static_cast<std::streamoff>(offset));
                               stream->read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
                               sink.write(buffer.data(), static_cast<size_t>(stream->gcount()));
                               return true;
                             });
  });
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
  a.sha256 = hex_of(digest, len);
  a.content_type = "application/octet-stream";
  a.file = m_impl->storage.path() / std::to_string(a.id);
  write_file(a.file, content);
  m_impl->releases.at(release_id).assets.push_back(a);
  return a.id;
}

StandInRelease GitHubStandIn::release(int64_t release_id) {
  std::lock_guard lock(m_impl->mutex);
  return m_impl->releases.at(release_id);
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

} // namespace sbpipe::test

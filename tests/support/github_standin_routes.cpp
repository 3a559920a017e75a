// The GitHub stand-in's routes, one function each (see github_standin.h for
// the behaviour they model and its sources).

#include <openssl/evp.h>

#include <fstream>

#include "support/github_standin_impl.h"

namespace sbpipe::test {
namespace {

using nlohmann::json;

const std::string k_repo = R"(/repos/([^/]+/[^/]+))";

// An immutable release is locked once published (drafts are not yet).
bool locked(const StandInRelease& r) { return r.immutable && !r.draft; }

}  // namespace

void GitHubStandIn::Impl::routes() {
  using Req = const httplib::Request&;
  using Res = httplib::Response&;
  api.Get(k_repo, [this](Req req, Res res) { get_repo(req, res); });
  api.Get(k_repo + R"(/releases/tags/(.+))", [this](Req req, Res res) { get_release_by_tag(req, res); });
  api.Get(k_repo + R"(/releases)", [this](Req req, Res res) { list_releases(req, res); });
  api.Get(k_repo + R"(/releases/latest)", [this](Req req, Res res) {
    if (!admit(req, res, "GET latest")) return;
    std::lock_guard lock(mutex);
    auto it = latest.find(req.matches[1].str());
    if (it == latest.end()) return not_found(res);
    send_json(res, 200, release_json(releases.at(it->second)));
  });
  api.Get(k_repo + R"(/releases/(\d+))", [this](Req req, Res res) { get_release(req, res); });
  api.Get(k_repo + R"(/releases/(\d+)/assets)", [this](Req req, Res res) { list_assets(req, res); });
  api.Get(k_repo + R"(/releases/assets/(\d+))", [this](Req req, Res res) { get_asset(req, res); });
  api.Patch(k_repo + R"(/releases/assets/(\d+))", [this](Req req, Res res) { rename_asset(req, res); });
  api.Delete(k_repo + R"(/releases/assets/(\d+))", [this](Req req, Res res) { delete_asset(req, res); });
  api.Patch(k_repo + R"(/releases/(\d+))", [this](Req req, Res res) { update_release(req, res); });
  uploads.Post(k_repo + R"(/releases/(\d+)/assets)",
               [this](Req req, Res res, const httplib::ContentReader& reader) { upload(req, res, reader); });
  uploads.Get(R"(/storage/(\d+))", [this](Req req, Res res) { storage_get(req, res); });
}

void GitHubStandIn::Impl::get_repo(const httplib::Request& req, httplib::Response& res) {
  if (!admit(req, res, "GET repo")) return;
  std::lock_guard lock(mutex);
  const std::string full_name = req.matches[1].str();
  bool push = !faults.read_only;
  send_json(res, 200,
            {{"id", 1},
             {"node_id", "R_standin"},
             {"name", full_name.substr(full_name.find('/') + 1)},
             {"full_name", full_name},
             {"private", faults.private_repo},
             {"html_url", "https://github.com/" + full_name},
             {"url", api_base() + "/repos/" + full_name},
             {"permissions", {{"admin", false}, {"maintain", false}, {"push", push}, {"triage", push}, {"pull", true}}}});
}

void GitHubStandIn::Impl::get_release(const httplib::Request& req, httplib::Response& res) {
  if (!admit(req, res, "GET release " + req.matches[2].str())) return;
  std::lock_guard lock(mutex);
  auto* r = find_release(req.matches[1].str(), std::stoll(req.matches[2].str()));
  if (r == nullptr) return not_found(res);
  send_json(res, 200, release_json(*r));
}

void GitHubStandIn::Impl::get_release_by_tag(const httplib::Request& req, httplib::Response& res) {
  if (!admit(req, res, "GET tags/" + req.matches[2].str())) return;
  std::lock_guard lock(mutex);
  for (const auto& [id, r] : releases)
    if (r.repo == req.matches[1].str() && r.tag == req.matches[2].str() && !r.draft) return send_json(res, 200, release_json(r));
  not_found(res);
}

void GitHubStandIn::Impl::list_releases(const httplib::Request& req, httplib::Response& res) {
  if (!admit(req, res, "GET releases")) return;
  std::lock_guard lock(mutex);
  json all = json::array();
  for (auto it = releases.rbegin(); it != releases.rend(); ++it)  // newest first
    if (it->second.repo == req.matches[1].str()) all.push_back(release_json(it->second));
  page(req, res, all, "/repos/" + req.matches[1].str() + "/releases");
}

void GitHubStandIn::Impl::list_assets(const httplib::Request& req, httplib::Response& res) {
  if (!admit(req, res, "GET assets")) return;
  std::lock_guard lock(mutex);
  auto* r = find_release(req.matches[1].str(), std::stoll(req.matches[2].str()));
  if (r == nullptr) return not_found(res);
  json all = json::array();
  for (const auto& a : r->assets) all.push_back(asset_json(*r, a));
  page(req, res, all, "/repos/" + req.matches[1].str() + "/releases/" + req.matches[2].str() + "/assets");
}

void GitHubStandIn::Impl::get_asset(const httplib::Request& req, httplib::Response& res) {
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
}

void GitHubStandIn::Impl::rename_asset(const httplib::Request& req, httplib::Response& res) {
  if (!admit(req, res, "PATCH asset " + asset_label(req))) return;
  auto body = json::parse(req.body, nullptr, false);
  std::lock_guard lock(mutex);
  auto [r, a] = find_asset(req.matches[1].str(), std::stoll(req.matches[2].str()));
  if (a == nullptr) return not_found(res);
  if (locked(*r)) return unprocessable(res, "Cannot modify an asset of an immutable release.");
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
}

void GitHubStandIn::Impl::delete_asset(const httplib::Request& req, httplib::Response& res) {
  if (!admit(req, res, "DELETE asset " + asset_label(req))) return;
  std::lock_guard lock(mutex);
  auto [r, a] = find_asset(req.matches[1].str(), std::stoll(req.matches[2].str()));
  if (a == nullptr) return not_found(res);
  if (locked(*r)) return unprocessable(res, "Cannot delete an asset of an immutable release.");
  std::error_code ignored;
  std::filesystem::remove(a->file, ignored);
  std::erase_if(r->assets, [&](const StandInAsset& x) { return x.id == a->id; });
  res.status = 204;
}

void GitHubStandIn::Impl::update_release(const httplib::Request& req, httplib::Response& res) {
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
}

// The upload host: the body is streamed to disk and hashed.
void GitHubStandIn::Impl::upload(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
  std::string name = req.has_param("name") ? req.get_param_value("name") : "";
  if (!admit(req, res, "POST upload " + name)) return;
  int64_t release_id = std::stoll(req.matches[2].str());
  StandInAsset asset;
  {
    std::lock_guard lock(mutex);
    auto* r = find_release(req.matches[1].str(), release_id);
    if (r == nullptr) return not_found(res);
    if (name.empty()) return validation_failed(res, "ReleaseAsset", "missing_field", "name");
    if (!req.has_header("Content-Length")) return send_json(res, 411, {{"message", "Content-Length required"}});
    if (req.get_header_value("Content-Type").empty())
      return validation_failed(res, "ReleaseAsset", "missing_field", "content_type");
    if (locked(*r)) return unprocessable(res, "Cannot upload assets to an immutable release.");
    for (const auto& other : r->assets)
      if (other.name == name) return validation_failed(res, "ReleaseAsset", "already_exists", "name");
    asset.id = ++next_id;
    asset.name = name;
    asset.state = "open";  // listed while the body arrives; the name is taken
    asset.content_type = req.get_header_value("Content-Type");
    asset.file = storage.path() / std::to_string(asset.id);
    r->assets.push_back(asset);
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
      // The client went away mid-body: the asset stays as it was, "open".
      log.push_back("(upload " + name + " broken off, left in state open)");
      return;
    }
    if (faults.upload_502 > 0) {
      --faults.upload_502;
      fail502 = true;
      stored->state = "starter";  // "a 502 ... may leave an empty asset with a state of starter"
    } else {
      stored->state = "uploaded";
      stored->sha256 = sha256_of_bytes(digest, len);
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
}

void GitHubStandIn::Impl::storage_get(const httplib::Request& req, httplib::Response& res) {
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
  res.set_content_provider(size, "application/octet-stream", [stream](size_t offset, size_t length, httplib::DataSink& sink) {
    std::vector<char> buffer(std::min<size_t>(length, 1 << 16));
    stream->seekg(static_cast<std::streamoff>(offset));
    stream->read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    sink.write(buffer.data(), static_cast<size_t>(stream->gcount()));
    return true;
  });
}

}  // namespace sbpipe::test

#include "support/hostile_registry.h"

#include <httplib.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "core/base64.h"
#include "support/image_builder.h"

namespace sbpipe::test {

struct HostileRegistry::Impl {
  std::string expected_authorization;
  std::string fail_reference;
  std::atomic<Mode> mode;
  httplib::Server registry;
  httplib::Server other;
  int port = 0;
  int other_port = 0;
  std::thread registry_thread, other_thread;
  mutable std::mutex mutex;
  std::vector<HostileRequest> seen;
  std::set<std::string> blobs;                   // "sha256:<hex>"
  std::map<std::string, std::string> manifests;  // reference → body
  std::vector<std::string> tags;
  int next_upload = 0;

  Impl(Mode m, const std::string& user, const std::string& password, std::string fail)
      : expected_authorization("Basic " + base64_encode(user + ":" + password)), fail_reference(std::move(fail)), mode(m) {}

  // Records the request; false (with a 401 set) when the registry listener
  // got no valid login.
  bool admit(const std::string& listener, const httplib::Request& req, httplib::Response& res) {
    bool has = req.has_header("Authorization");
    bool right = req.get_header_value("Authorization") == expected_authorization;
    {
      std::lock_guard lock(mutex);
      seen.push_back({listener, req.method, req.path, has, right});
    }
    if (listener == "registry" && !right) {
      res.status = 401;
      res.set_header("WWW-Authenticate", "Basic realm=\"hostile\"");
      res.set_content(R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})", "application/json");
      return false;
    }
    return true;
  }

  void accept_upload(const httplib::Request& req, httplib::Response& res) {
    std::string digest = req.get_param_value("digest");
    if (digest != "sha256:" + sha256_hex(req.body)) {
      res.status = 400;
      res.set_content(R"({"errors":[{"code":"DIGEST_INVALID","message":"digest mismatch"}]})", "application/json");
      return;
    }
    std::lock_guard lock(mutex);
    blobs.insert(digest);
    res.status = 201;
    res.set_header("Docker-Content-Digest", digest);
  }

  void routes() {
    registry.Get("/v2/", [this](const httplib::Request& req, httplib::Response& res) {
      if (!admit("registry", req, res)) return;
      if (mode.load() == Mode::huge_body) {
        res.status = 500;
        constexpr size_t k_total = size_t(10) << 30;
        res.set_content_provider(k_total, "application/json", [](size_t offset, size_t length, httplib::DataSink& sink) {
          static const std::string chunk(1 << 20, 'x');
          (void)offset;
          return sink.write(chunk.data(), std::min(length, chunk.size()));
        });
        return;
      }
      res.set_content("{}", "application/json");
    });
    registry.Get(R"(/v2/(.+)/blobs/(sha256:[0-9a-f]{64}))", [this](const httplib::Request& req, httplib::Response& res) {
      if (!admit("registry", req, res)) return;
      std::lock_guard lock(mutex);
      if (!blobs.contains(req.matches[2])) {
        res.status = 404;
        return;
      }
      res.set_header("Docker-Content-Digest", req.matches[2]);
    });
    registry.Post(R"(/v2/(.+)/blobs/uploads/)", [this](const httplib::Request& req, httplib::Response& res) {
      if (!admit("registry", req, res)) return;
      int id;
      {
        std::lock_guard lock(mutex);
        id = ++next_upload;
      }
      res.status = 202;
      std::string path = "/upload/u" + std::to_string(id);
      res.set_header("Location", mode.load() == Mode::leak ? "http://localhost:" + std::to_string(other_port) + path : path);
    });
    for (auto* server : {&registry, &other}) {
      std::string name = server == &registry ? "registry" : "other";
      server->Put(R"(/upload/(\w+))", [this, name](const httplib::Request& req, httplib::Response& res) {
        if (!admit(name, req, res)) return;
        accept_upload(req, res);
      });
      server->Delete(R"(/upload/(\w+))", [this, name](const httplib::Request& req, httplib::Response& res) {
        if (!admit(name, req, res)) return;
        res.status = 204;
      });
    }
    registry.Get(R"(/v2/(.+)/manifests/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
      if (!admit("registry", req, res)) return;
      std::lock_guard lock(mutex);
      auto it = manifests.find(req.matches[2]);
      if (it == manifests.end()) {
        res.status = 404;
        return;
      }
      res.set_header("Docker-Content-Digest", "sha256:" + sha256_hex(it->second));
      res.set_content(it->second, "application/vnd.oci.image.manifest.v1+json");
    });
    registry.Put(R"(/v2/(.+)/manifests/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
      if (!admit("registry", req, res)) return;
      std::string reference = req.matches[2];
      if (mode.load() == Mode::fail_tag && reference == fail_reference) {
        res.status = 500;
        res.set_content(R"({"errors":[{"code":"UNKNOWN","message":"storage failed"}]})", "application/json");
        return;
      }
      std::lock_guard lock(mutex);
      manifests[reference] = req.body;
      if (!reference.starts_with("sha256:")) tags.push_back(reference);
      res.status = 201;
      res.set_header("Docker-Content-Digest", "sha256:" + sha256_hex(req.body));
    });
  }
};

HostileRegistry::HostileRegistry(Mode mode, std::string username, std::string password, std::string fail_reference)
    : m_impl(std::make_unique<Impl>(mode, username, password, std::move(fail_reference))) {
  m_impl->routes();
  m_impl->port = m_impl->registry.bind_to_any_port("127.0.0.1");
  m_impl->other_port = m_impl->other.bind_to_any_port("127.0.0.1");
  m_impl->registry_thread = std::thread([this] { m_impl->registry.listen_after_bind(); });
  m_impl->other_thread = std::thread([this] { m_impl->other.listen_after_bind(); });
}

HostileRegistry::~HostileRegistry() {
  m_impl->registry.stop();
  m_impl->other.stop();
  m_impl->registry_thread.join();
  m_impl->other_thread.join();
}

int HostileRegistry::port() const { return m_impl->port; }
int HostileRegistry::other_port() const { return m_impl->other_port; }
void HostileRegistry::set_mode(Mode mode) { m_impl->mode.store(mode); }

std::vector<HostileRequest> HostileRegistry::requests() const {
  std::lock_guard lock(m_impl->mutex);
  return m_impl->seen;
}

std::vector<std::string> HostileRegistry::tags() const {
  std::lock_guard lock(m_impl->mutex);
  return m_impl->tags;
}

}  // namespace sbpipe::test

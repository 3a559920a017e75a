#include "support/kube_standin.h"

#include <httplib.h>
#include <openssl/evp.h>

#include <chrono>
#include <random>
#include <stdexcept>
#include <thread>
#include <tuple>

#include "support/process.h"

namespace sbpipe::test {
namespace {

using nlohmann::json;

json status_object(int code, const std::string& reason, const std::string& message, json details = nullptr) {
  json s = {{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", json::object()}, {"status", "Failure"}, {"message", message},
            {"reason", reason}, {"code", code}};
  if (!details.is_null()) s["details"] = details;
  return s;
}

void send(httplib::Response& res, int code, const json& body) {
  res.status = code;
  res.set_content(body.dump(), "application/json");
}

std::string support_dir() { return test_support_dir(); }

}  // namespace

std::string schema_violations(const std::string& schema_relative_path, const json& document) {
  TempDir dir;
  write_file(dir / "doc.json", document.dump());
  auto r =
      run({support_dir() + "/validate_json.py", support_dir() + "/schemas/" + schema_relative_path, (dir / "doc.json").string()});
  if (r.exit_code != 0 && r.out.empty()) return "validator failed: " + r.err;
  return r.out;
}

struct KubeStandIn::Impl {
  std::string token;
  std::unique_ptr<httplib::Server> server;
  bool tls = false;
  bool client_certs = false;
  int port = 0;
  std::thread thread;
  std::mutex mutex;
  std::map<std::string, std::map<std::string, json>> workflows;  // ns → name → object
  std::vector<std::string> log;
  KubeFaults faults;
  std::mt19937 rng{std::random_device{}()};
  int next_version = 100;

  bool admit(const httplib::Request& req, httplib::Response& res) {
    if (!client_certs && req.get_header_value("Authorization") != "Bearer " + token) {
      send(res, 401, status_object(401, "Unauthorized", "Unauthorized"));
      return false;
    }
    return true;
  }

  void record(const httplib::Request& req, const httplib::Response& res) {
    std::lock_guard lock(mutex);
    log.push_back(req.method + " " + req.path + " -> " + std::to_string(res.status));
  }

  void routes() {
    server->set_logger([this](const httplib::Request& req, const httplib::Response& res) { record(req, res); });

    server->Post(R"(/apis/argoproj.io/v1alpha1/namespaces/([^/]+)/workflows)", [this](const httplib::Request& req,
                                                                                      httplib::Response& res) {
      if (!admit(req, res)) return;
      std::string ns = req.matches[1].str();
      KubeFaults f;
      {
        std::lock_guard lock(mutex);
        f = faults;
      }
      if (f.create_delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(f.create_delay_ms));
      if (f.create_status != 0)
        return send(
            res, f.create_status,
            status_object(f.create_status, f.create_status == 503 ? "ServiceUnavailable" : "InternalError", "injected failure"));
      auto body = json::parse(req.body, nullptr, false);
      if (!body.is_object()) return send(res, 400, status_object(400, "BadRequest", "the body is not a JSON object"));
      std::string violations = schema_violations("argo-workflows/workflow-argoproj-v1alpha1.json", body);
      if (!violations.empty())
        return send(res, 422, status_object(422, "Invalid", "Workflow.argoproj.io is invalid: " + violations));
      auto& meta = body["metadata"];
      if (meta.contains("namespace") && meta["namespace"] != ns)
        return send(res, 400,
                    status_object(400, "BadRequest",
                                  "the namespace of the provided object does not match the namespace sent on the request"));
      std::lock_guard lock(mutex);
      std::string name = meta.value("name", "");
      if (name.empty() && meta.contains("generateName")) {
        static const char* kChars = "bcdfghjklmnpqrstvwxz2456789";
        name = meta["generateName"].get<std::string>();
        for (int i = 0; i < 5; ++i) name += kChars[rng() % 27];
      }
      if (name.empty()) return send(res, 422, status_object(422, "Invalid", "metadata.name: Required value"));
      if (workflows[ns].count(name))
        return send(res, 409,
                    status_object(409, "AlreadyExists", "workflows.argoproj.io \"" + name + "\" already exists",
                                  {{"name", name}, {"group", "argoproj.io"}, {"kind", "workflows"}}));
      meta["name"] = name;
      meta["namespace"] = ns;
      meta["uid"] = "uid-" + std::to_string(next_version);
      meta["resourceVersion"] = std::to_string(next_version++);
      meta["creationTimestamp"] = "2026-11-22T10:00:00Z";
      workflows[ns][name] = body;
      send(res, 201, body);
    });

    server->Get(R"(/apis/argoproj.io/v1alpha1/namespaces/([^/]+)/workflows/([^/]+))", [this](const httplib::Request& req,
                                                                                             httplib::Response& res) {
      if (!admit(req, res)) return;
      std::lock_guard lock(mutex);
      auto& ns = workflows[req.matches[1].str()];
      auto it = ns.find(req.matches[2].str());
      if (it == ns.end())
        return send(res, 404, status_object(404, "NotFound", "workflows.argoproj.io \"" + req.matches[2].str() + "\" not found"));
      std::string phase = it->second.contains("status") ? it->second["status"].value("phase", "") : "";
      std::string next = phase.empty() ? "Pending" : phase == "Pending" ? "Running" : faults.final_phase;
      it->second["status"]["phase"] = next;
      if (next == "Failed") it->second["status"]["message"] = "child 'verify' failed";
      send(res, 200, it->second);
    });

    server->Get(R"(/apis/argoproj.io/v1alpha1/namespaces/([^/]+)/workflows)",
                [this](const httplib::Request& req, httplib::Response& res) {
                  if (!admit(req, res)) return;
                  std::vector<std::tuple<std::string, std::string, bool>> terms;  // key, value, equal
                  std::string selector = req.get_param_value("labelSelector");
                  for (size_t start = 0; start < selector.size();) {
                    size_t end = selector.find(',', start);
                    std::string term = selector.substr(start, end == std::string::npos ? std::string::npos : end - start);
                    start = end == std::string::npos ? selector.size() : end + 1;
                    size_t op = term.find_first_of("!=");
                    if (op == std::string::npos || op == 0)
                      return send(res, 400, status_object(400, "BadRequest", "unable to parse requirement: " + term));
                    bool equal = term[op] == '=';
                    size_t value_at = term.find_first_not_of("!=", op);
                    terms.emplace_back(term.substr(0, op), value_at == std::string::npos ? "" : term.substr(value_at), equal);
                  }
                  std::lock_guard lock(mutex);
                  json items = json::array();
                  for (const auto& [name, wf] : workflows[req.matches[1].str()]) {
                    const json& labels = wf["metadata"].contains("labels") ? wf["metadata"]["labels"] : json::object();
                    bool match = true;
                    for (const auto& [key, value, equal] : terms) {
                      bool has = labels.contains(key) && labels[key] == value;
                      match = match && (equal ? has : !has);
                    }
                    if (match) items.push_back(wf);
                  }
                  send(res, 200,
                       {{"apiVersion", "argoproj.io/v1alpha1"},
                        {"kind", "WorkflowList"},
                        {"metadata", {{"resourceVersion", std::to_string(next_version)}}},
                        {"items", items}});
                });

    server->Patch(R"(/apis/argoproj.io/v1alpha1/namespaces/([^/]+)/workflows/([^/]+))", [this](const httplib::Request& req,
                                                                                               httplib::Response& res) {
      if (!admit(req, res)) return;
      std::string type = req.get_header_value("Content-Type");
      if (type != "application/merge-patch+json")
        return send(res, 415,
                    status_object(415, "UnsupportedMediaType",
                                  "the body of the request was in an unknown format - accepted "
                                  "media types include: application/merge-patch+json"));
      auto patch = json::parse(req.body, nullptr, false);
      if (patch.is_discarded()) return send(res, 400, status_object(400, "BadRequest", "the body is not JSON"));
      json patched;
      {
        std::lock_guard lock(mutex);
        auto& ns = workflows[req.matches[1].str()];
        auto it = ns.find(req.matches[2].str());
        if (it == ns.end())
          return send(res, 404,
                      status_object(404, "NotFound", "workflows.argoproj.io \"" + req.matches[2].str() + "\" not found"));
        patched = it->second;
      }
      patched.merge_patch(patch);
      std::string violations = schema_violations("argo-workflows/workflow-argoproj-v1alpha1.json", patched);
      if (!violations.empty())
        return send(res, 422, status_object(422, "Invalid", "Workflow.argoproj.io is invalid: " + violations));
      std::lock_guard lock(mutex);
      patched["metadata"]["resourceVersion"] = std::to_string(next_version++);
      workflows[req.matches[1].str()][req.matches[2].str()] = patched;
      send(res, 200, patched);
    });

    server->Post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                 [this](const httplib::Request& req, httplib::Response& res) {
                   if (!admit(req, res)) return;
                   auto body = json::parse(req.body, nullptr, false);
                   if (!body.is_object() || body.value("kind", "") != "SelfSubjectAccessReview")
                     return send(res, 400, status_object(400, "BadRequest", "expected a SelfSubjectAccessReview"));
                   int delay_ms = 0;
                   {
                     std::lock_guard lock(mutex);
                     delay_ms = faults.review_delay_ms;
                   }
                   if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
                   std::lock_guard lock(mutex);
                   body["status"] = {{"allowed", !faults.deny_access}};
                   send(res, 201, body);
                 });
  }
};

KubeStandIn::KubeStandIn(std::string token, const KubeTls* tls) : m_impl(std::make_unique<Impl>()), m_token(std::move(token)) {
  m_impl->token = m_token;
  if (tls != nullptr) {
    auto server = std::make_unique<httplib::SSLServer>(tls->cert_file.c_str(), tls->key_file.c_str(),
                                                       tls->client_ca_file.empty() ? nullptr : tls->client_ca_file.c_str());
    if (!server->is_valid()) throw std::runtime_error("Kubernetes stand-in: bad TLS files");
    m_impl->server = std::move(server);
    m_impl->tls = true;
    m_impl->client_certs = !tls->client_ca_file.empty();
  } else {
    m_impl->server = std::make_unique<httplib::Server>();
  }
  m_impl->routes();
  m_impl->port = m_impl->server->bind_to_any_port("127.0.0.1");
  if (m_impl->port <= 0) throw std::runtime_error("Kubernetes stand-in: cannot bind");
  m_impl->thread = std::thread([this] { m_impl->server->listen_after_bind(); });
  wait_for_port(m_impl->port);
}

KubeStandIn::~KubeStandIn() {
  m_impl->server->stop();
  if (m_impl->thread.joinable()) m_impl->thread.join();
}

std::string KubeStandIn::url() const {
  return (m_impl->tls ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(m_impl->port);
}

std::string KubeStandIn::kubeconfig_x509(const std::string& ca_pem, const std::string& cert_pem,
                                         const std::string& key_pem) const {
  auto b64 = [](const std::string& text) {
    std::string out(4 * ((text.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(text.data()),
                            static_cast<int>(text.size()));
    out.resize(static_cast<size_t>(n));
    return out;
  };
  return "apiVersion: v1\nkind: Config\ncurrent-context: tls\n"
         "clusters:\n- name: tls\n  cluster:\n    server: " +
         url() + "\n    certificate-authority-data: " + b64(ca_pem) +
         "\n"
         "contexts:\n- name: tls\n  context:\n    cluster: tls\n    user: admin\n"
         "users:\n- name: admin\n  user:\n    client-certificate-data: " +
         b64(cert_pem) + "\n    client-key-data: " + b64(key_pem) + "\n";
}

std::string KubeStandIn::kubeconfig(const std::string& namespace_name) const {
  return "apiVersion: v1\nkind: Config\ncurrent-context: standin\n"
         "clusters:\n- name: standin\n  cluster:\n    server: " +
         url() +
         "\n"
         "contexts:\n- name: standin\n  context:\n    cluster: standin\n    user: robot\n    namespace: " +
         namespace_name +
         "\n"
         "users:\n- name: robot\n  user:\n    token: " +
         m_token + "\n";
}

std::vector<json> KubeStandIn::workflows(const std::string& namespace_name) {
  std::lock_guard lock(m_impl->mutex);
  std::vector<json> out;
  for (const auto& [name, wf] : m_impl->workflows[namespace_name]) out.push_back(wf);
  return out;
}

void KubeStandIn::set_phase(const std::string& name, const std::string& phase, const std::string& namespace_name) {
  std::lock_guard lock(m_impl->mutex);
  m_impl->workflows.at(namespace_name).at(name)["status"]["phase"] = phase;
}

std::vector<std::string> KubeStandIn::requests() {
  std::lock_guard lock(m_impl->mutex);
  return m_impl->log;
}

int KubeStandIn::count(const std::string& prefix) {
  std::lock_guard lock(m_impl->mutex);
  int n = 0;
  for (const auto& line : m_impl->log) n += line.starts_with(prefix) ? 1 : 0;
  return n;
}

void KubeStandIn::with_faults(const std::function<void(KubeFaults&)>& change) {
  std::lock_guard lock(m_impl->mutex);
  change(m_impl->faults);
}

}  // namespace sbpipe::test

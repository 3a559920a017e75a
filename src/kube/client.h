#pragma once
// A client for the few Kubernetes API calls sbpipe makes: create a Workflow
// (201 created, 409 AlreadyExists), read one (its phase), list them by
// label, stop one (Argo's spec.shutdown), and ask whether this identity may
// create Workflows (SelfSubjectAccessReview), which is what "ready" means
// for the webhook receiver.
// Not thread-safe: one KubeClient per thread.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/client.h"
#include "kube/config.h"

namespace sbpipe {

enum class CreateOutcome { created, already_exists };

struct Created {
  CreateOutcome outcome = CreateOutcome::created;
  std::string name;  // the created (or existing) object's name
};

class KubeClient {
public:
  KubeClient(std::unique_ptr<HttpClient> http, KubeConfig config);

  // POST .../namespaces/{ns}/workflows. 409 → already_exists (not an error);
  // other statuses are errors carrying the API's Status message: transient
  // for 5xx and 429, auth for 401/403, permanent otherwise.
  Result<Created> create_workflow(const std::string& namespace_name, const nlohmann::json& workflow);

  // GET of one Workflow; not_found when it does not exist.
  Result<nlohmann::json> get_workflow(const std::string& namespace_name, const std::string& name);

  // GET .../workflows?labelSelector=...: every Workflow whose labels match
  // (equality terms, comma-separated).
  Result<std::vector<nlohmann::json>> list_workflows(const std::string& namespace_name, const std::string& label_selector);

  // Stops a Workflow the way `argo stop` does (argoproj/argo-workflows
  // workflow/util/util.go, StopWorkflow → patchShutdownStrategy): a JSON
  // merge patch setting spec.shutdown to "Stop", which lets exit handlers
  // run, plus the given annotations. not_found when it is gone.
  Status stop_workflow(const std::string& namespace_name, const std::string& name,
                       const std::map<std::string, std::string>& annotations);

  // Status when this identity may create workflows in the namespace; auth
  // error when the API says no, transient when it cannot be reached.
  Status check_can_create_workflows(const std::string& namespace_name);

  const KubeConfig& config() const { return m_config; }

private:
  Result<HttpResponse> call(const std::string& method, const std::string& path, const nlohmann::json* body,
                            const std::string& content_type = "application/json");
  Error status_error(const HttpResponse& response, const std::string& what) const;

  std::unique_ptr<HttpClient> m_http;
  KubeConfig m_config;
};

// The curl-backed HTTP client for `config` (CA, client certificate,
// insecure-skip-tls-verify) with a total deadline per request.
std::unique_ptr<HttpClient> make_kube_http(const KubeConfig& config, std::chrono::milliseconds deadline);

}  // namespace sbpipe

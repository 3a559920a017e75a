#include "kube/client.h"

#include "http/retry.h"
#include "http/url.h"

namespace sbpipe {

std::unique_ptr<HttpClient> make_kube_http(const KubeConfig& config, std::chrono::milliseconds deadline) {
  HttpOptions options;
  options.ca_pem = config.ca_pem;
  options.client_cert_pem = config.client_cert_pem;
  options.client_key_pem = config.client_key_pem;
  options.insecure_skip_verify = config.insecure_skip_verify;
  options.connect_timeout = std::chrono::seconds(std::max<long long>(1, deadline.count() / 3000));
  options.total_timeout = deadline;
  return make_curl_client(options);
}

KubeClient::KubeClient(std::unique_ptr<HttpClient> http, KubeConfig config)
    : m_http(std::move(http)), m_config(std::move(config)) {}

Error KubeClient::status_error(const HttpResponse& response, const std::string& what) const {
  std::string detail;
  auto body = nlohmann::json::parse(response.body, nullptr, false);
  if (body.is_object() && body.contains("message") && body["message"].is_string())
    detail = ": " + body["message"].get<std::string>();
  long s = response.status;
  ErrorKind kind = s == 401 || s == 403     ? ErrorKind::auth
                   : s == 404               ? ErrorKind::not_found
                   : s == 409               ? ErrorKind::conflict
                   : is_retryable_status(s) ? ErrorKind::transient
                                            : ErrorKind::permanent;
  return Error(kind, "Kubernetes API " + m_config.server + ": " + what + ": HTTP " + std::to_string(s) + detail);
}

Result<HttpResponse> KubeClient::call(const std::string& method, const std::string& path, const nlohmann::json* body,
                                      const std::string& content_type) {
  HttpRequest request;
  request.method = method;
  request.url = m_config.server + path;
  request.headers.emplace_back("Accept", "application/json");
  if (m_config.token) {
    auto token = m_config.token();
    if (!token) return fail(token.error());
    if (!token->empty()) request.headers.emplace_back("Authorization", "Bearer " + *token);
  }
  std::unique_ptr<MemorySource> source;
  if (body != nullptr) {
    std::string text = body->dump();
    request.headers.emplace_back("Content-Type", content_type);
    request.body_size = text.size();
    source = std::make_unique<MemorySource>(std::move(text));
    request.body = source.get();
  }
  auto response = m_http->send(request);
  if (!response) return fail(response.error().with_context("Kubernetes API " + m_config.server));
  return response;
}

Result<Created> KubeClient::create_workflow(const std::string& namespace_name, const nlohmann::json& workflow) {
  auto response =
      call("POST", "/apis/argoproj.io/v1alpha1/namespaces/" + percent_encode(namespace_name) + "/workflows", &workflow);
  if (!response) return fail(response.error());
  std::string fixed = workflow["metadata"].value("name", "");
  if (response->status == 409) return Created{CreateOutcome::already_exists, fixed};
  if (response->status != 201 && response->status != 200) return fail(status_error(*response, "create Workflow"));
  auto body = nlohmann::json::parse(response->body, nullptr, false);
  std::string name = fixed;
  if (body.is_object() && body.contains("metadata") && body["metadata"].contains("name") && body["metadata"]["name"].is_string())
    name = body["metadata"]["name"].get<std::string>();
  return Created{CreateOutcome::created, name};
}

Result<nlohmann::json> KubeClient::get_workflow(const std::string& namespace_name, const std::string& name) {
  auto response = call(
      "GET", "/apis/argoproj.io/v1alpha1/namespaces/" + percent_encode(namespace_name) + "/workflows/" + percent_encode(name),
      nullptr);
  if (!response) return fail(response.error());
  if (response->status != 200) return fail(status_error(*response, "get Workflow " + name));
  auto body = nlohmann::json::parse(response->body, nullptr, false);
  if (!body.is_object()) return fail(ErrorKind::permanent, "Kubernetes API: Workflow " + name + ": not a JSON object");
  return body;
}

Result<std::vector<nlohmann::json>> KubeClient::list_workflows(const std::string& namespace_name,
                                                               const std::string& label_selector) {
  auto response = call("GET",
                       "/apis/argoproj.io/v1alpha1/namespaces/" + percent_encode(namespace_name) +
                           "/workflows?labelSelector=" + percent_encode(label_selector),
                       nullptr);
  if (!response) return fail(response.error());
  if (response->status != 200) return fail(status_error(*response, "list Workflows"));
  auto body = nlohmann::json::parse(response->body, nullptr, false);
  if (!body.is_object() || !body.contains("items") || !body["items"].is_array())
    return fail(ErrorKind::permanent, "Kubernetes API: list Workflows: not a WorkflowList");
  return body["items"].get<std::vector<nlohmann::json>>();
}

Status KubeClient::stop_workflow(const std::string& namespace_name, const std::string& name,
                                 const std::map<std::string, std::string>& annotations) {
  nlohmann::json patch = {{"spec", {{"shutdown", "Stop"}}}};
  for (const auto& [key, value] : annotations) patch["metadata"]["annotations"][key] = value;
  auto response = call(
      "PATCH", "/apis/argoproj.io/v1alpha1/namespaces/" + percent_encode(namespace_name) + "/workflows/" + percent_encode(name),
      &patch, "application/merge-patch+json");
  if (!response) return fail(response.error());
  if (response->status != 200) return fail(status_error(*response, "stop Workflow " + name));
  return {};
}

Status KubeClient::check_can_create_workflows(const std::string& namespace_name) {
  nlohmann::json review = {
      {"apiVersion", "authorization.k8s.io/v1"},
      {"kind", "SelfSubjectAccessReview"},
      {"spec",
       {{"resourceAttributes",
         {{"namespace", namespace_name}, {"verb", "create"}, {"group", "argoproj.io"}, {"resource", "workflows"}}}}}};
  auto response = call("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", &review);
  if (!response) return fail(response.error());
  if (response->status != 201 && response->status != 200) return fail(status_error(*response, "access review"));
  auto body = nlohmann::json::parse(response->body, nullptr, false);
  bool allowed = body.is_object() && body.contains("status") && body["status"].value("allowed", false);
  if (!allowed)
    return fail(ErrorKind::auth,
                "Kubernetes API " + m_config.server + ": may not create workflows in namespace " + namespace_name);
  return {};
}

}  // namespace sbpipe

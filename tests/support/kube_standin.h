#pragma once
// A stand-in for the Kubernetes API server, for the calls sbpipe makes, on
// 127.0.0.1 (kubernetes.io/docs/reference/using-api/api-concepts):
//   - every request needs "Authorization: Bearer <token>" (401 Status);
//   - POST /apis/argoproj.io/v1alpha1/namespaces/{ns}/workflows validates
//     the body against Argo's Workflow JSON schema (a copy in
//     tests/support/schemas, checked by python3-jsonschema) → 422 Invalid;
//     a namespace differing from the URL's → 400 BadRequest; an existing
//     name → 409 AlreadyExists; metadata.generateName gets 5 random
//     characters; → 201 with the stored object (uid, resourceVersion);
//   - GET .../workflows/{name} → 200 or 404 NotFound; each GET moves a
//     Workflow one phase along (Pending → Running → final_phase);
//   - GET .../workflows?labelSelector=k=v,k2!=v2 → a WorkflowList of the
//     matching ones (equality-based selectors, kubernetes.io/docs/concepts/
//     overview/working-with-objects/labels/#label-selectors);
//   - PATCH .../workflows/{name} with Content-Type
//     application/merge-patch+json → the RFC 7386 merge, validated against
//     the schema again, 200 with the result; other patch types get 415
//     (the stand-in implements only the one sbpipe sends);
//   - POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews →
//     201 with status.allowed.
// Errors are Status objects as the real API sends them. Faults: answer
// creates with 500/503, delay them, deny access reviews.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sbpipe::test {

struct KubeFaults {
  int create_status = 0;  // when set: creates answer this status (500, 503, ...)
  int create_delay_ms = 0;
  bool deny_access = false;
  int review_delay_ms = 0;  // SelfSubjectAccessReviews answer after this long
  std::string final_phase = "Succeeded";
};

// HTTPS with a server certificate and, when client_ca_file is set, client
// certificates required (verified in the TLS handshake, as the API server
// does for x509 users); such requests need no token.
struct KubeTls {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;
};

class KubeStandIn {
public:
  explicit KubeStandIn(std::string token = "kube-standin-token-abcdef", const KubeTls* tls = nullptr);
  ~KubeStandIn();
  KubeStandIn(const KubeStandIn&) = delete;
  KubeStandIn& operator=(const KubeStandIn&) = delete;

  std::string url() const;
  const std::string& token() const { return m_token; }
  // A kubeconfig (token user, current-context) pointing here.
  std::string kubeconfig(const std::string& namespace_name = "argo") const;
  // A kubeconfig with the CA and a client certificate and key as base64 data.
  std::string kubeconfig_x509(const std::string& ca_pem, const std::string& cert_pem, const std::string& key_pem) const;

  std::vector<nlohmann::json> workflows(const std::string& namespace_name = "argo");
  // Sets a stored Workflow's status.phase (as the Argo controller would).
  void set_phase(const std::string& name, const std::string& phase, const std::string& namespace_name = "argo");
  // "METHOD path -> status" per request, in order.
  std::vector<std::string> requests();
  int count(const std::string& prefix);
  void with_faults(const std::function<void(KubeFaults&)>& change);

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
  std::string m_token;
};

// Validates `document` against a schema file in tests/support/schemas with
// python3-jsonschema; returns the violations ("" when valid).
std::string schema_violations(const std::string& schema_relative_path, const nlohmann::json& document);

}  // namespace sbpipe::test

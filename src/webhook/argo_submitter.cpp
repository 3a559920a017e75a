#include "webhook/argo_submitter.h"

namespace sbpipe {

ArgoSubmitter::ArgoSubmitter(KubeConfig config, WorkflowTarget target, std::chrono::milliseconds deadline)
    : m_config(std::move(config)), m_target(std::move(target)), m_deadline(deadline) {}

std::unique_ptr<KubeClient> ArgoSubmitter::acquire() {
  {
    std::lock_guard lock(m_mutex);
    if (!m_idle.empty()) {
      auto client = std::move(m_idle.back());
      m_idle.pop_back();
      return client;
    }
  }
  return std::make_unique<KubeClient>(make_kube_http(m_config, m_deadline), m_config);
}

void ArgoSubmitter::release(std::unique_ptr<KubeClient> client) {
  std::lock_guard lock(m_mutex);
  if (m_idle.size() < 16) m_idle.push_back(std::move(client));
}

Result<Submission> ArgoSubmitter::submit(const ReleaseRef& release_ref, const WorkflowOrigin& origin) {
  auto client = acquire();
  auto created = client->create_workflow(m_target.namespace_name, make_workflow(release_ref, m_target, origin));
  release(std::move(client));
  if (!created) return fail(created.error());
  return Submission{created->outcome == CreateOutcome::created, created->name};
}

Status ArgoSubmitter::ready() {
  auto client = acquire();
  auto st = client->check_can_create_workflows(m_target.namespace_name);
  release(std::move(client));
  return st;
}

} // namespace sbpipe

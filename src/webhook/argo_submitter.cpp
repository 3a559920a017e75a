#include "webhook/argo_submitter.h"

#include <spdlog/spdlog.h>

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

namespace {

// Argo's own test for "nothing left to stop" (wf.Status.Fulfilled()): the
// phase is a final one, or the Workflow is stopping already.
bool finished(const nlohmann::json& workflow) {
  std::string phase = workflow.contains("status") && workflow["status"].is_object() ? workflow["status"].value("phase", "") : "";
  bool stopping = workflow.contains("spec") && workflow["spec"].is_object() && workflow["spec"].value("shutdown", "") != "";
  return phase == "Succeeded" || phase == "Failed" || phase == "Error" || stopping;
}

}  // namespace

Result<Withdrawal> ArgoSubmitter::withdraw(const ReleaseRef& release_ref, const WorkflowOrigin& origin) {
  auto client = acquire();
  Withdrawal out;
  auto listed = client->list_workflows(m_target.namespace_name, release_selector(release_ref));
  Status st;
  if (!listed) {
    st = fail(listed.error());
  } else {
    for (const auto& workflow : *listed) {
      if (finished(workflow)) continue;
      std::string name = workflow["metadata"].value("name", "");
      auto stopped =
          client->stop_workflow(m_target.namespace_name, name,
                                {{"sbpipe.dev/withdrawn", origin.action}, {"sbpipe.dev/withdrawn-delivery", origin.delivery_id}});
      if (!stopped && stopped.error().kind() == ErrorKind::not_found) continue;  // gone meanwhile
      if (!stopped) {
        st = fail(stopped.error());
        break;
      }
      spdlog::info("workflow {}: stopped, the release was {} (delivery {})", name, origin.action, origin.delivery_id);
      out.stopped.push_back(name);
    }
  }
  release(std::move(client));
  if (!st) return fail(st.error());
  return out;
}

Status ArgoSubmitter::ready() {
  auto client = acquire();
  auto st = client->check_can_create_workflows(m_target.namespace_name);
  release(std::move(client));
  return st;
}

}  // namespace sbpipe

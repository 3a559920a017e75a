#pragma once
// The Argo executor of `sbpipe serve`: an accepted release becomes a
// Workflow created through the Kubernetes API; a withdrawn one (unpublished,
// deleted) stops every unfinished Workflow labelled with its repository and
// release id (the receiver's Role needs list and patch on workflows for
// that). A small pool of API clients serves the receiver's threads (each
// client keeps its connection alive).

#include <mutex>
#include <vector>

#include "kube/client.h"
#include "webhook/server.h"

namespace sbpipe {

class ArgoSubmitter final : public Submitter {
public:
  ArgoSubmitter(KubeConfig config, WorkflowTarget target, std::chrono::milliseconds deadline);
  Result<Submission> submit(const ReleaseRef& release, const WorkflowOrigin& origin) override;
  Result<Withdrawal> withdraw(const ReleaseRef& release, const WorkflowOrigin& origin) override;
  Status ready() override;

private:
  std::unique_ptr<KubeClient> acquire();
  void release(std::unique_ptr<KubeClient> client);

  KubeConfig m_config;
  WorkflowTarget m_target;
  std::chrono::milliseconds m_deadline;
  std::mutex m_mutex;
  std::vector<std::unique_ptr<KubeClient>> m_idle;
};

}  // namespace sbpipe

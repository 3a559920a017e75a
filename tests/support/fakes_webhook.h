#pragma once
// A recording Submitter (src/webhook/decision.h) for the receiver's
// decision: it records "submit REPO TAG ID delivery=D action=A" and
// "withdraw ..." in `calls`, answers from its fields, and fails when told.

#include <optional>
#include <string>
#include <vector>

#include "webhook/decision.h"

namespace sbpipe::test {

class FakeSubmitter final : public Submitter {
public:
  bool exists = false;               // submit answers "already submitted"
  std::vector<std::string> stopped;  // what withdraw stops
  std::optional<Error> submit_error;
  std::optional<Error> withdraw_error;
  std::optional<Error> ready_error;
  std::vector<std::string> calls;

  Result<Submission> submit(const ReleaseRef& release, const WorkflowOrigin& origin) override {
    calls.push_back("submit " + describe(release, origin));
    if (submit_error) return fail(*submit_error);
    return Submission{!exists, workflow_name(release)};
  }
  Result<Withdrawal> withdraw(const ReleaseRef& release, const WorkflowOrigin& origin) override {
    calls.push_back("withdraw " + describe(release, origin));
    if (withdraw_error) return fail(*withdraw_error);
    return Withdrawal{stopped};
  }
  Status ready() override {
    calls.push_back("ready");
    if (ready_error) return fail(*ready_error);
    return {};
  }

private:
  static std::string describe(const ReleaseRef& r, const WorkflowOrigin& o) {
    return r.repo + " " + r.tag + " " + std::to_string(r.release_id) + " state=" + r.state + " delivery=" + o.delivery_id +
           " action=" + o.action;
  }
};

}  // namespace sbpipe::test

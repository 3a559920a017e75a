#pragma once
// The receiver's answer to one webhook delivery, as functions of the
// delivery (headers and raw body) and the Submitter, with no HTTP, thread
// or clock in them (webhook/server.cpp puts them on the wire, counts and
// logs them):
//   signature (X-Hub-Signature-256 over the raw body, before any parsing)
//     wrong or missing                      → 401 unauthorized
//   X-GitHub-Event ping                     → 200 pong
//   the filter (webhook/event.h) refuses the JSON → 400 malformed
//   ignored (with the filter's reason)      → 202 ignored
//   accepted → Submitter::submit: created   → 201 {workflow}
//                                 existed   → 200 already submitted
//                                 failed    → 503 failed (redacted error)
//   withdrawal (unpublished, deleted) → Submitter::withdraw: stopped runs
//     → 200 withdrawn {stopped}; none queued or running → 202 ignored;
//     failed → 503 failed.
// Bodies over the limit (413) are refused by the listener before this runs.
// The decision is split where the server changes threads: screen_delivery
// is CPU only (an I/O thread), act_on_delivery calls the Submitter, which
// may block on the Kubernetes API. decide_delivery is both in one call.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "kube/workflow.h"
#include "webhook/event.h"

namespace sbpipe {

struct Submission {
  bool created = false;  // false: it existed already
  std::string name;
};

struct Withdrawal {
  std::vector<std::string> stopped;  // the runs stopped or taken off the queue; empty: none was queued or running
};

// Where accepted releases go. Implementations are thread-safe.
class Submitter {
public:
  virtual ~Submitter() = default;
  virtual Result<Submission> submit(const ReleaseRef& release, const WorkflowOrigin& origin) = 0;
  // Stops every queued or running run of `release` (matched by repository
  // and release id) before it publishes; origin.action says why.
  virtual Result<Withdrawal> withdraw(const ReleaseRef& release, const WorkflowOrigin& origin) = 0;
  virtual Status ready() = 0;
};

// The headers a delivery is judged by, as received (any length).
struct DeliveryHeaders {
  std::string signature;  // X-Hub-Signature-256
  std::string delivery;   // X-GitHub-Delivery
  std::string event;      // X-GitHub-Event
};

// What the delivery's log line and metrics say: filled in as far as the
// decision got. delivery and event stay empty until the signature verified
// (no header of an unverified request is trusted, not even for the log) and
// are cut to 64 characters.
struct DeliveryFacts {
  std::string delivery, event, action, repo, tag;
  std::string outcome;  // unauthorized, ping, malformed, ignored, created, already_submitted, withdrawn, failed
};

struct DeliveryAnswer {
  int status = 500;
  nlohmann::json body;  // the JSON body sent
  // For the operator's log only (never sent): the submitter's error before
  // redaction; empty unless the outcome is "failed".
  std::string failure;
};

enum class DeliveryAct { none, submit, withdraw };

// The CPU-only part: signature, ping, filter. `answer` is set when the
// delivery is answered without the submitter (act == none).
struct ScreenedDelivery {
  DeliveryFacts facts;
  DeliveryAct act = DeliveryAct::none;
  ReleaseRef release;  // what to submit or withdraw
  std::optional<DeliveryAnswer> answer;
};
ScreenedDelivery screen_delivery(const std::vector<std::string>& secrets, const EventFilter& filter,
                                 const DeliveryHeaders& headers, std::string_view body);

// The submitter's part, for a screened delivery whose act is not none;
// fills in facts.outcome.
DeliveryAnswer act_on_delivery(ScreenedDelivery& screened, Submitter& submitter);

// Both: the whole answer to a delivery.
struct DeliveryDecision {
  DeliveryFacts facts;
  DeliveryAct act = DeliveryAct::none;
  DeliveryAnswer answer;
};
DeliveryDecision decide_delivery(const std::vector<std::string>& secrets, const EventFilter& filter,
                                 const DeliveryHeaders& headers, std::string_view body, Submitter& submitter);

}  // namespace sbpipe

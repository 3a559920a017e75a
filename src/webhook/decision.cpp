#include "webhook/decision.h"

#include "core/redact.h"
#include "webhook/signature.h"

namespace sbpipe {
namespace {

DeliveryAnswer answer(int status, nlohmann::json body) { return DeliveryAnswer{status, std::move(body), ""}; }

DeliveryAnswer failed(const Error& error) {
  return DeliveryAnswer{503, {{"status", "failed"}, {"error", redact(error.message())}}, error.message()};
}

}  // namespace

ScreenedDelivery screen_delivery(const std::vector<std::string>& secrets, const EventFilter& filter,
                                 const DeliveryHeaders& headers, std::string_view body) {
  ScreenedDelivery s;
  DeliveryFacts& f = s.facts;
  if (!verify_webhook_signature(secrets, body, headers.signature)) {
    f.outcome = "unauthorized";
    s.answer = answer(401, {{"status", "unauthorized"}, {"error", "X-Hub-Signature-256 missing or wrong"}});
    return s;
  }
  f.delivery = headers.delivery.substr(0, 64);
  f.event = headers.event.substr(0, 64);
  if (f.event == "ping") {
    f.outcome = "ping";
    s.answer = answer(200, {{"status", "pong"}});
    return s;
  }
  auto decision = filter.decide(f.event, body);
  if (!decision) {
    f.outcome = "malformed";
    s.answer = answer(400, {{"status", "malformed"}, {"error", decision.error().message()}});
    return s;
  }
  f.action = decision->action;
  f.repo = decision->release.repo;
  f.tag = decision->release.tag;
  s.release = decision->release;
  if (decision->withdraw) {
    s.act = DeliveryAct::withdraw;
    return s;
  }
  if (!decision->accepted) {
    f.outcome = "ignored";
    s.answer = answer(202, {{"status", "ignored"}, {"reason", decision->reason}});
    return s;
  }
  s.act = DeliveryAct::submit;
  return s;
}

DeliveryAnswer act_on_delivery(ScreenedDelivery& screened, Submitter& submitter) {
  DeliveryFacts& f = screened.facts;
  const WorkflowOrigin origin{f.delivery, f.action};
  if (screened.act == DeliveryAct::withdraw) {
    auto withdrawn = submitter.withdraw(screened.release, origin);
    if (!withdrawn) {
      f.outcome = "failed";
      return failed(withdrawn.error());
    }
    if (withdrawn->stopped.empty()) {
      f.outcome = "ignored";
      return answer(202, {{"status", "ignored"}, {"reason", "no queued or running run of release " + screened.release.tag}});
    }
    f.outcome = "withdrawn";
    return answer(200, {{"status", "withdrawn"}, {"stopped", withdrawn->stopped}});
  }
  auto submitted = submitter.submit(screened.release, origin);
  if (!submitted) {
    f.outcome = "failed";
    return failed(submitted.error());
  }
  f.outcome = submitted->created ? "created" : "already_submitted";
  if (submitted->created) return answer(201, {{"status", "created"}, {"workflow", submitted->name}});
  return answer(200, {{"status", "already submitted"}, {"workflow", submitted->name}});
}

DeliveryDecision decide_delivery(const std::vector<std::string>& secrets, const EventFilter& filter,
                                 const DeliveryHeaders& headers, std::string_view body, Submitter& submitter) {
  auto screened = screen_delivery(secrets, filter, headers, body);
  if (screened.answer) return DeliveryDecision{screened.facts, screened.act, std::move(*screened.answer)};
  auto answered = act_on_delivery(screened, submitter);
  return DeliveryDecision{screened.facts, screened.act, std::move(answered)};
}

}  // namespace sbpipe

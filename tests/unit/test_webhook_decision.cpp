// The receiver's delivery decision (src/webhook/decision.h) as a function:
// the status table, one subcase per input, each with the exact body sent,
// the facts logged and what reached the (fake) submitter. Over HTTP, with
// TLS, signals and the listener's own refusals (413, 415, 431),
// tests/integration/test_serve.cpp and test_serve_limits.cpp.

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "core/redact.h"
#include "support/fakes_webhook.h"
#include "webhook/decision.h"
#include "webhook/signature.h"

using namespace sbpipe;
using namespace sbpipe::test;
using nlohmann::json;
using Strings = std::vector<std::string>;

namespace {

const std::vector<std::string> k_secrets{"the webhook secret"};

std::string release_event(const std::string& action, const std::string& tag, bool prerelease, bool draft) {
  return json{{"action", action},
              {"repository", {{"full_name", "owner/talos-build"}}},
              {"release", {{"id", 42}, {"tag_name", tag}, {"prerelease", prerelease}, {"draft", draft}}}}
      .dump();
}

EventFilter make_filter() {
  EventFilterConfig config;
  config.allowed_repos = {"Owner/Talos-Build"};
  return *EventFilter::create(config);
}

// A delivery signed with the secret.
DeliveryHeaders signed_headers(const std::string& body, const std::string& event = "release") {
  return DeliveryHeaders{webhook_signature(k_secrets[0], body), "delivery-1", event};
}

}  // namespace

TEST_SUITE("unit") {
TEST_CASE("webhook decision: the status table, with the exact bodies") {
  const auto filter = make_filter();
  FakeSubmitter submitter;
  auto decide = [&](const DeliveryHeaders& headers, const std::string& body) {
    return decide_delivery(k_secrets, filter, headers, body, submitter);
  };
  const std::string created = release_event("created", "v1.9.0", true, false);
  const std::string submitted_as = "submit owner/talos-build v1.9.0 42 state=prerelease delivery=delivery-1 action=created";

  SUBCASE("401: no signature; nothing else is read, not even the delivery id") {
    auto d = decide(DeliveryHeaders{"", "delivery-1", "release"}, created);
    CHECK(d.answer.status == 401);
    CHECK(d.answer.body == json{{"status", "unauthorized"}, {"error", "X-Hub-Signature-256 missing or wrong"}});
    CHECK(d.facts.outcome == "unauthorized");
    CHECK(d.facts.delivery.empty());
    CHECK(d.facts.event.empty());
    CHECK(submitter.calls.empty());
  }
  SUBCASE("401: a signature over another body") {
    auto d = decide(signed_headers(created + " "), created);
    CHECK(d.answer.status == 401);
    CHECK(d.answer.body.dump() == R"({"error":"X-Hub-Signature-256 missing or wrong","status":"unauthorized"})");
    CHECK(submitter.calls.empty());
  }
  SUBCASE("200: ping") {
    auto d = decide(signed_headers("{}", "ping"), "{}");
    CHECK(d.answer.status == 200);
    CHECK(d.answer.body == json{{"status", "pong"}});
    CHECK(d.facts.outcome == "ping");
    CHECK(d.facts.delivery == "delivery-1");
    CHECK(submitter.calls.empty());
  }
  SUBCASE("400: a body that is not JSON") {
    auto d = decide(signed_headers("{not json"), "{not json");
    CHECK(d.answer.status == 400);
    CHECK(d.answer.body == json{{"status", "malformed"}, {"error", "the body is not a JSON object"}});
    CHECK(d.facts.outcome == "malformed");
    CHECK(submitter.calls.empty());
  }
  SUBCASE("400: a release event without its fields") {
    const std::string body = R"({"action":"created","release":{}})";
    auto d = decide(signed_headers(body), body);
    CHECK(d.answer.status == 400);
    CHECK(d.answer.body ==
          json{{"status", "malformed"}, {"error", "release event without repository.full_name, release.tag_name or release.id"}});
  }
  SUBCASE("202: ignored, with the filter's reason") {
    const std::string body = release_event("created", "v1.9.0", false, true);
    auto d = decide(signed_headers(body), body);
    CHECK(d.answer.status == 202);
    CHECK(d.answer.body == json{{"status", "ignored"}, {"reason", "release v1.9.0 is a draft"}});
    CHECK(d.facts.outcome == "ignored");
    CHECK(d.facts.tag == "v1.9.0");
    CHECK(submitter.calls.empty());
  }
  SUBCASE("202: an event other than release") {
    auto d = decide(signed_headers("{}", "push"), "{}");
    CHECK(d.answer.status == 202);
    CHECK(d.answer.body == json{{"status", "ignored"}, {"reason", "event 'push' is not handled (only release)"}});
  }
  SUBCASE("201: submitted") {
    auto d = decide(signed_headers(created), created);
    CHECK(d.answer.status == 201);
    CHECK(d.answer.body == json{{"status", "created"}, {"workflow", "talos-build-v1-9-0-42"}});
    CHECK(d.facts.outcome == "created");
    CHECK(d.act == DeliveryAct::submit);
    CHECK(submitter.calls == Strings{submitted_as});
  }
  SUBCASE("200: already submitted (a redelivery)") {
    submitter.exists = true;
    auto d = decide(signed_headers(created), created);
    CHECK(d.answer.status == 200);
    CHECK(d.answer.body == json{{"status", "already submitted"}, {"workflow", "talos-build-v1-9-0-42"}});
    CHECK(d.facts.outcome == "already_submitted");
    CHECK(submitter.calls == Strings{submitted_as});
  }
  SUBCASE("503: the submission failed; the answer is redacted, the log line gets the reason") {
    register_secret("s3cr3t-token");
    submitter.submit_error = Error(ErrorKind::transient, "kubernetes API: connection refused (token s3cr3t-token)");
    auto d = decide(signed_headers(created), created);
    CHECK(d.answer.status == 503);
    CHECK(d.answer.body == json{{"status", "failed"}, {"error", "kubernetes API: connection refused (token ***)"}});
    CHECK(d.answer.failure == "kubernetes API: connection refused (token s3cr3t-token)");
    CHECK(d.facts.outcome == "failed");
    TEST_clear_secrets();
  }
  SUBCASE("200: a withdrawal stops the release's runs") {
    submitter.stopped = {"talos-build-v1-9-0-42"};
    const std::string body = release_event("deleted", "v1.9.0", true, false);
    auto d = decide(signed_headers(body), body);
    CHECK(d.answer.status == 200);
    CHECK(d.answer.body == json{{"status", "withdrawn"}, {"stopped", {"talos-build-v1-9-0-42"}}});
    CHECK(d.facts.outcome == "withdrawn");
    CHECK(d.act == DeliveryAct::withdraw);
    CHECK(submitter.calls.size() == 1);
    CHECK(submitter.calls.at(0).rfind("withdraw owner/talos-build v1.9.0 42 ", 0) == 0);
  }
  SUBCASE("202: a withdrawal with nothing queued or running") {
    const std::string body = release_event("unpublished", "v1.9.0", true, false);
    auto d = decide(signed_headers(body), body);
    CHECK(d.answer.status == 202);
    CHECK(d.answer.body == json{{"status", "ignored"}, {"reason", "no queued or running run of release v1.9.0"}});
    CHECK(d.facts.outcome == "ignored");
  }
  SUBCASE("503: the withdrawal failed") {
    submitter.withdraw_error = Error(ErrorKind::transient, "queue: disk full");
    const std::string body = release_event("deleted", "v1.9.0", true, false);
    auto d = decide(signed_headers(body), body);
    CHECK(d.answer.status == 503);
    CHECK(d.answer.body == json{{"status", "failed"}, {"error", "queue: disk full"}});
    CHECK(d.facts.outcome == "failed");
  }
}

TEST_CASE("webhook decision: screening never calls the submitter and keeps the headers it logs short") {
  const auto filter = make_filter();
  const std::string body = release_event("created", "v1.9.0", true, false);
  DeliveryHeaders headers{webhook_signature(k_secrets[0], body), std::string(100, 'd'), "release"};
  auto screened = screen_delivery(k_secrets, filter, headers, body);
  CHECK_FALSE(screened.answer);
  CHECK(screened.act == DeliveryAct::submit);
  CHECK(screened.facts.delivery == std::string(64, 'd'));
  CHECK(screened.facts.outcome.empty());
  CHECK(screened.release.tag == "v1.9.0");
}

}  // TEST_SUITE("unit")

// sbpipe serve (started as a process) and sbpipe submit, against the
// Kubernetes API stand-in (and the GitHub stand-in for submit).

#include <doctest/doctest.h>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include <signal.h>

#include <future>
#include <thread>

#include "integration/machine_output.h"
#include "integration/push_helpers.h"
#include "support/github_standin.h"
#include "support/kube_standin.h"
#include "support/secureboot_fixtures.h"
#include "webhook/signature.h"

namespace sbpipe::test {
namespace {

using nlohmann::json;

const std::string kSecret = "webhook-secret-0123456789";
const std::string kRepo = "owner/talos-build";

std::string release_payload(const std::string& action, const std::string& tag, bool prerelease, bool draft,
                            const std::string& repo = kRepo, int64_t id = 4242) {
  json payload = {
      {"action", action},
      {"release", {{"id", id}, {"tag_name", tag}, {"prerelease", prerelease}, {"draft", draft}, {"body", "MARKER-IN-BODY"}}},
      {"repository", {{"full_name", repo}, {"private", true}}},
      {"sender", {{"login", "ci-bot"}}}};
  return payload.dump();
}

struct Receiver {
  KubeStandIn kube;
  TempDir dir;
  int port = free_port();
  std::unique_ptr<Process> process;

  explicit Receiver(std::vector<std::string> extra = {}) {
    write_file(dir / "kubeconfig", kube.kubeconfig());
    write_file(dir / "secret", kSecret + "\n");
    std::vector<std::string> argv{
        sbpipe_binary(),           "serve",        "--listen", "127.0.0.1:" + std::to_string(port), "--webhook-secret-file",
        (dir / "secret").string(), "--allow-repo", kRepo};
    argv.insert(argv.end(), extra.begin(), extra.end());
    process = std::make_unique<Process>(
        argv, dir / "serve.log",
        std::map<std::string, std::string>{{"KUBECONFIG", (dir / "kubeconfig").string()}, {"KUBERNETES_SERVICE_HOST", ""}});
    wait_for_port(port);
  }

  httplib::Result deliver(const std::string& event, const std::string& body, const std::string& delivery = "d-1",
                          const std::string& secret = kSecret) {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(15);
    httplib::Headers headers{{"X-GitHub-Event", event}, {"X-GitHub-Delivery", delivery}};
    if (!secret.empty()) headers.emplace("X-Hub-Signature-256", webhook_signature(secret, body));
    return client.Post("/webhook", headers, body, "application/json");
  }

  httplib::Result get(const std::string& path) {
    httplib::Client client("127.0.0.1", port);
    return client.Get(path);
  }

  // GET /readyz until it answers `status` (the readiness thread checks at
  // most once a second while probes come), or for 15 s; the last answer.
  httplib::Result readyz(int status) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    auto r = get("/readyz");
    while ((!r || r->status != status) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      r = get("/readyz");
    }
    return r;
  }

  // serve logs through an asynchronous logger: a line queued before an
  // answer left may reach the file just after. The log once it has not
  // grown for 200 ms (at most 10 s).
  std::string log() {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::string text = read_file(dir / "serve.log");
    while (std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      std::string again = read_file(dir / "serve.log");
      if (again == text) break;
      text = std::move(again);
    }
    return text;
  }
};

json body_of(const httplib::Result& r) { return json::parse(r->body); }

}  // namespace

TEST_SUITE("integration") {

TEST_CASE("serve: created, prereleased and published of one pre-release start exactly one valid Workflow") {
  Receiver rx;
  auto first = rx.deliver("release", release_payload("created", "v1.9.0", true, false), "d-1");
  REQUIRE(first);
  CHECK(first->status == 201);
  CHECK(body_of(first)["workflow"] == "talos-build-v1-9-0-4242");
  auto second = rx.deliver("release", release_payload("prereleased", "v1.9.0", true, false), "d-2");
  auto third = rx.deliver("release", release_payload("published", "v1.9.0", true, false), "d-3");
  auto redelivered = rx.deliver("release", release_payload("published", "v1.9.0", true, false), "d-3");
  for (const auto* r : {&second, &third, &redelivered}) {
    REQUIRE(*r);
    CHECK((*r)->status == 200);
    CHECK(body_of(*r)["status"] == "already submitted");
  }
  auto workflows = rx.kube.workflows();
  REQUIRE(workflows.size() == 1);
  CHECK(rx.kube.count("POST /apis/argoproj.io/v1alpha1/namespaces/argo/workflows -> 201") == 1);
  CHECK(rx.kube.count("POST /apis/argoproj.io/v1alpha1/namespaces/argo/workflows -> 409") == 3);
  auto& wf = workflows[0];
  CHECK(schema_violations("argo-workflows/workflow-argoproj-v1alpha1.json", wf) == "");
  CHECK(wf["spec"]["workflowTemplateRef"]["name"] == "talos-secureboot-build");
  CHECK(wf["spec"]["arguments"]["parameters"] == json::array({{{"name", "version"}, {"value", "v1.9.0"}},
                                                              {{"name", "repo"}, {"value", kRepo}},
                                                              {{"name", "release-id"}, {"value", "4242"}},
                                                              {{"name", "release-state"}, {"value", "prerelease"}}}));
  CHECK(wf["metadata"]["annotations"]["sbpipe.dev/delivery"] == "d-1");
  CHECK(wf["metadata"]["annotations"]["sbpipe.dev/action"] == "created");

  auto metrics = rx.get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->body.find("sbpipe_webhook_deliveries_total{event=\"release\",action=\"created\",outcome=\"created\"} 1") !=
        std::string::npos);
  CHECK(metrics->body.find("sbpipe_workflow_submissions_total{outcome=\"already_submitted\"} 3") != std::string::npos);
  CHECK(metrics->body.find("sbpipe_webhook_request_duration_seconds_count 4") != std::string::npos);
  std::string log = rx.log();
  CHECK(log.find("delivery=d-1 event=release action=created repo=owner/talos-build tag=v1.9.0 outcome=created status=201") !=
        std::string::npos);
  CHECK(log.find("MARKER-IN-BODY") == std::string::npos);
  CHECK(log.find(kSecret) == std::string::npos);
  CHECK(log.find(rx.kube.token()) == std::string::npos);
}

TEST_CASE("serve: missing, wrong and stale-secret signatures get 401 and start nothing; a rotated pair both work") {
  Receiver rx;
  auto body = release_payload("created", "v1.9.0", true, false);
  auto missing = rx.deliver("release", body, "d-1", "");
  auto wrong = rx.deliver("release", body, "d-2", "not-the-secret");
  httplib::Client client("127.0.0.1", rx.port);
  auto tampered =
      client.Post("/webhook", {{"X-GitHub-Event", "release"}, {"X-Hub-Signature-256", webhook_signature(kSecret, body + " ")}},
                  body, "application/json");
  for (const auto* r : {&missing, &wrong, &tampered}) {
    REQUIRE(*r);
    CHECK((*r)->status == 401);
  }
  CHECK(rx.kube.workflows().empty());
  CHECK(rx.kube.count("POST /apis/argoproj.io") == 0);
  CHECK(rx.get("/metrics")->body.find("event=\"\",action=\"\",outcome=\"unauthorized\"} 3") != std::string::npos);

  // Rotation: the old and the new secret are both accepted; a retired one is not.
  write_file(rx.dir / "new-secret", "rotated-secret-abcdef\n");
  Receiver rotating({"--webhook-secret-file", (rx.dir / "new-secret").string()});
  CHECK(rotating.deliver("release", body, "d-1", kSecret)->status == 201);
  CHECK(rotating.deliver("release", release_payload("created", "v1.9.1", true, false), "d-2", "rotated-secret-abcdef")->status ==
        201);
  CHECK(rotating.deliver("release", release_payload("created", "v1.9.2", true, false), "d-3", "retired-secret")->status == 401);
  CHECK(rotating.kube.workflows().size() == 2);
}

TEST_CASE("serve: other repositories, drafts, full releases, other tags and events are ignored with the reason") {
  Receiver rx;
  struct Case {
    std::string event, body, reason;
  };
  std::vector<Case> cases{
      {"release", release_payload("created", "v1.9.0", true, false, "someone/else"), "repository someone/else is not allowed"},
      {"release", release_payload("created", "v1.9.0", false, true), "release v1.9.0 is a draft"},
      {"release", release_payload("released", "v1.9.0", false, false), "action 'released' does not start a run"},
      {"release", release_payload("published", "v1.9.0", false, false), "release v1.9.0 is a full release, not a pre-release"},
      {"release", release_payload("created", "nightly-7", true, false), "tag nightly-7 does not match ^v\\d+\\.\\d+\\.\\d+.*$"},
      {"push", R"({"ref":"refs/heads/main"})", "event 'push' is not handled (only release)"},
  };
  for (const auto& c : cases) {
    auto r = rx.deliver(c.event, c.body);
    REQUIRE(r);
    CHECK(r->status == 202);
    CHECK(body_of(r)["reason"] == c.reason);
  }
  auto ping = rx.deliver("ping", R"({"zen":"Keep it logically awesome."})");
  CHECK(ping->status == 200);
  auto malformed = rx.deliver("release", "{\"action\": ");
  CHECK(malformed->status == 400);
  CHECK(rx.kube.count("POST /apis/argoproj.io") == 0);

  // Over 25 MiB: 413 before anything else.
  auto huge = rx.deliver("release", std::string(26u << 20, ' '));
  REQUIRE(huge);
  CHECK(huge->status == 413);
}

TEST_CASE("serve: the API failing or unreachable gives 503; a redelivery once it is back creates the Workflow") {
  Receiver rx;
  rx.kube.with_faults([](KubeFaults& f) { f.create_status = 500; });
  auto body = release_payload("created", "v1.9.0", true, false);
  auto failed = rx.deliver("release", body, "d-1");
  REQUIRE(failed);
  CHECK(failed->status == 503);
  CHECK(body_of(failed)["error"].get<std::string>().find("HTTP 500: injected failure") != std::string::npos);
  rx.kube.with_faults([](KubeFaults& f) { f.create_status = 0; });
  auto redelivered = rx.deliver("release", body, "d-1");
  CHECK(redelivered->status == 201);
  CHECK(rx.kube.workflows().size() == 1);

  // Nothing listening where the kubeconfig points: 503 within GitHub's 10 s, and not ready.
  TempDir dir;
  int dead = free_port();
  write_file(dir / "kubeconfig",
             "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: c\n  cluster: {server: 'http://127.0.0.1:" +
                 std::to_string(dead) +
                 "'}\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\nusers:\n- name: u\n  user: {token: t0123456789}\n");
  write_file(dir / "secret", kSecret);
  int port = free_port();
  Process serve({sbpipe_binary(), "serve", "--listen", "127.0.0.1:" + std::to_string(port), "--webhook-secret-file",
                 (dir / "secret").string(), "--allow-repo", kRepo},
                dir / "log", {{"KUBECONFIG", (dir / "kubeconfig").string()}, {"KUBERNETES_SERVICE_HOST", ""}});
  wait_for_port(port);
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(15);
  auto start = std::chrono::steady_clock::now();
  auto down = client.Post("/webhook", {{"X-GitHub-Event", "release"}, {"X-Hub-Signature-256", webhook_signature(kSecret, body)}},
                          body, "application/json");
  REQUIRE(down);
  CHECK(down->status == 503);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
  auto ready = client.Get("/readyz");
  CHECK(ready->status == 503);
  CHECK(client.Get("/healthz")->status == 200);
}

TEST_CASE("serve: readyz asks the API whether it may create workflows; the reason is logged, never sent (issue 30)") {
  Receiver rx;
  CHECK(rx.get("/healthz")->status == 200);
  auto ready = rx.readyz(200);
  REQUIRE(ready);
  CHECK(ready->status == 200);
  CHECK(ready->body == "ready\n");
  rx.kube.with_faults([](KubeFaults& f) { f.deny_access = true; });
  auto denied = rx.readyz(503);
  REQUIRE(denied);
  CHECK(denied->status == 503);
  // Anyone may ask /readyz: the answer names no namespace, identity or address.
  CHECK(denied->body == "not ready (the receiver's log says why)\n");
  CHECK(rx.log().find("may not create workflows in namespace argo") != std::string::npos);
  rx.kube.with_faults([](KubeFaults& f) { f.deny_access = false; });
  CHECK(rx.readyz(200)->status == 200);
  CHECK(rx.log().find("ready again (GET /readyz answers 200)") != std::string::npos);
}

TEST_CASE("serve: /readyz never waits for the API, so probes hold no slot and call the API once, not each (issue 30)") {
  Receiver rx({"--max-connections", "8"});
  REQUIRE(rx.readyz(200)->status == 200);
  rx.kube.with_faults([](KubeFaults& f) { f.review_delay_ms = 4000; });
  int reviews_before = rx.kube.count("POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews");
  auto start = std::chrono::steady_clock::now();
  // As many probes as the cap, each left open: before, each waited on the
  // API and held its slot, so nothing else got in. (More than the cap at
  // once would race the listener's own "full" refusal on a loaded machine.)
  std::vector<std::unique_ptr<httplib::Client>> probes;
  std::vector<std::future<httplib::Result>> answers;
  for (int i = 0; i < 8; ++i) {
    probes.push_back(std::make_unique<httplib::Client>("127.0.0.1", rx.port));
    probes.back()->set_keep_alive(true);
    probes.back()->set_read_timeout(20);
    answers.push_back(std::async(std::launch::async, [c = probes.back().get()] { return c->Get("/readyz"); }));
  }
  for (auto& a : answers) {
    auto r = a.get();
    REQUIRE(r);
    CHECK(r->status == 200);  // the last result, at once
  }
  CHECK(rx.get("/healthz")->status == 200);
  auto delivered = rx.deliver("release", release_payload("created", "v1.9.0", true, false));
  REQUIRE(delivered);
  CHECK(delivered->status == 201);
  // At most one review in flight and at most one a second, however many probes came.
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  int reviews = rx.kube.count("POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews") - reviews_before;
  CHECK_MESSAGE(reviews <= static_cast<int>(seconds) + 2, reviews << " reviews in " << seconds << " s");
}

TEST_CASE("serve: SIGTERM during a request still answers it, then the process exits 0") {
  Receiver rx;
  rx.kube.with_faults([](KubeFaults& f) { f.create_delay_ms = 1500; });
  auto pending =
      std::async(std::launch::async, [&] { return rx.deliver("release", release_payload("created", "v1.9.0", true, false)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(400));  // the request is in flight
  ::kill(rx.process->pid(), SIGTERM);
  auto answered = pending.get();
  REQUIRE(answered);
  CHECK(answered->status == 201);
  CHECK(rx.process->wait_exit(10000) == 0);
  CHECK(rx.kube.workflows().size() == 1);
  CHECK(rx.log().find("finishing requests in flight") != std::string::npos);
}

TEST_CASE("serve: unpublished or deleted stops every unfinished Workflow of that release (spec.shutdown Stop), nothing else") {
  Receiver rx;
  GitHubStandIn github;
  int64_t id = github.create_release(kRepo, "v1.9.0");
  int64_t other = github.create_release(kRepo, "v1.9.1");
  // One Workflow from the webhook, one re-run from submit (generated name), one of another release.
  REQUIRE(rx.deliver("release", release_payload("created", "v1.9.0", true, false, kRepo, id))->status == 201);
  REQUIRE(rx.deliver("release", release_payload("created", "v1.9.1", true, false, kRepo, other))->status == 201);
  auto submitted = sbpipe(
      {"submit", "--repo", kRepo, "--tag", "v1.9.0", "--github-api", github.api_url()},
      {{"KUBECONFIG", (rx.dir / "kubeconfig").string()}, {"KUBERNETES_SERVICE_HOST", ""}, {"GITHUB_TOKEN", github.token()}});
  REQUIRE_MESSAGE(submitted.exit_code == 0, submitted.err);
  std::string rerun = submitted.out.substr(0, submitted.out.find('\n'));
  std::string fixed = "talos-build-v1-9-0-" + std::to_string(id);

  auto stopped = rx.deliver("release", release_payload("unpublished", "v1.9.0", true, true, kRepo, id), "d-9");
  REQUIRE(stopped);
  CHECK(stopped->status == 200);
  CHECK(body_of(stopped)["status"] == "withdrawn");
  auto names = body_of(stopped)["stopped"].get<std::vector<std::string>>();
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{fixed, rerun});
  for (const auto& wf : rx.kube.workflows()) {
    std::string name = wf["metadata"]["name"];
    bool ours = name == fixed || name == rerun;
    CHECK_MESSAGE(wf["spec"].contains("shutdown") == ours, name);
    if (!ours) continue;
    CHECK(wf["spec"]["shutdown"] == "Stop");
    CHECK(wf["metadata"]["annotations"]["sbpipe.dev/withdrawn"] == "unpublished");
    CHECK(wf["metadata"]["annotations"]["sbpipe.dev/withdrawn-delivery"] == "d-9");
  }
  // Already stopping: nothing more to do.
  auto again = rx.deliver("release", release_payload("deleted", "v1.9.0", true, true, kRepo, id), "d-10");
  CHECK(again->status == 202);
  CHECK(body_of(again)["reason"] == "no queued or running run of release v1.9.0");
  // A finished Workflow is left alone.
  rx.kube.set_phase("talos-build-v1-9-1-" + std::to_string(other), "Succeeded");
  CHECK(rx.deliver("release", release_payload("deleted", "v1.9.1", true, false, kRepo, other), "d-11")->status == 202);
  CHECK(rx.kube.count("PATCH /apis/argoproj.io/v1alpha1/namespaces/argo/workflows/") == 2);
  CHECK(rx.log().find(
            "delivery=d-9 event=release action=unpublished repo=owner/talos-build tag=v1.9.0 outcome=withdrawn status=200") !=
        std::string::npos);
  auto as_json = sbpipe(
      {"submit", "--repo", kRepo, "--tag", "v1.9.1", "--github-api", github.api_url(), "-o", "json"},
      {{"KUBECONFIG", (rx.dir / "kubeconfig").string()}, {"KUBERNETES_SERVICE_HOST", ""}, {"GITHUB_TOKEN", github.token()}});
  REQUIRE_MESSAGE(as_json.exit_code == 0, as_json.err);
  check_machine_output("submit", as_json.out);
  CHECK(nlohmann::json::parse(as_json.out)["namespace"] == "argo");
}

TEST_CASE("serve --log-format json: each delivery is one JSON record with real fields and an RFC 3339 time") {
  Receiver rx({"--log-format", "json"});
  REQUIRE(rx.deliver("release", release_payload("created", "v1.9.0", true, false))->status == 201);
  REQUIRE(rx.deliver("release", "{}", "d-2", "")->status == 401);
  std::vector<json> deliveries;
  std::istringstream lines(rx.log());
  for (std::string line; std::getline(lines, line);) {
    auto record = json::parse(line);  // every line is JSON
    REQUIRE(record["time"].is_string());
    std::string time = record["time"];
    CHECK_MESSAGE(std::regex_match(time, std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)")), time);
    CHECK(!record.contains("ts_ms"));
    if (record.contains("delivery") && record.contains("status")) deliveries.push_back(record);
  }
  REQUIRE(deliveries.size() == 2);
  const auto& created = deliveries[0];
  CHECK(created["msg"] == "webhook delivery");
  CHECK(created["level"] == "info");
  CHECK(created["delivery"] == "d-1");
  CHECK(created["event"] == "release");
  CHECK(created["action"] == "created");
  CHECK(created["repo"] == kRepo);
  CHECK(created["tag"] == "v1.9.0");
  CHECK(created["outcome"] == "created");
  CHECK(created["status"] == 201);
  CHECK(created["ms"].is_number());
  CHECK(deliveries[1]["outcome"] == "unauthorized");
  CHECK(deliveries[1]["status"] == 401);
  CHECK(deliveries[1]["delivery"] == "");  // not read before the signature passed
  CHECK(rx.log().find(kSecret) == std::string::npos);
}

TEST_CASE("serve: trigger draft (immutable releases) starts from a created draft") {
  Receiver rx({"--trigger", "draft"});
  CHECK(rx.deliver("release", release_payload("created", "v1.9.0", false, true))->status == 201);
  CHECK(rx.deliver("release", release_payload("published", "v1.9.0", true, false))->status == 202);
  CHECK(rx.kube.workflows().size() == 1);
}

TEST_CASE("serve over HTTPS, submitting to an HTTPS API with the CA and a client certificate from kubeconfig data") {
  TempDir dir;
  auto p = [&](const std::string& name) { return (dir / name).string(); };
  must_run({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", p("ca.key"), "-out", p("ca.pem"), "-days", "1",
            "-subj", "/CN=test-ca"});
  write_file(dir / "server.ext", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  write_file(dir / "client.ext", "extendedKeyUsage=clientAuth\n");
  for (const std::string who : {"server", "client"}) {
    must_run({"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", p(who + ".key"), "-out", p(who + ".csr"), "-subj",
              who == "server" ? "/CN=127.0.0.1" : "/CN=admin/O=system:masters"});
    must_run({"openssl", "x509", "-req", "-in", p(who + ".csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"), "-CAcreateserial",
              "-out", p(who + ".pem"), "-days", "1", "-extfile", p(who + ".ext")});
  }
  KubeTls tls{p("server.pem"), p("server.key"), p("ca.pem")};
  KubeStandIn kube("no-token-needed", &tls);
  write_file(dir / "kubeconfig",
             kube.kubeconfig_x509(read_file(dir / "ca.pem"), read_file(dir / "client.pem"), read_file(dir / "client.key")));
  write_file(dir / "secret", kSecret);
  int port = free_port();
  Process serve({sbpipe_binary(), "serve", "--listen", "127.0.0.1:" + std::to_string(port), "--webhook-secret-file", p("secret"),
                 "--allow-repo", kRepo, "--tls-cert-file", p("server.pem"), "--tls-key-file", p("server.key")},
                dir / "log", {{"KUBECONFIG", p("kubeconfig")}, {"KUBERNETES_SERVICE_HOST", ""}});
  wait_for_port(port);
  httplib::SSLClient client("127.0.0.1", port);
  client.set_ca_cert_path(p("ca.pem").c_str());
  client.enable_server_certificate_verification(true);
  auto body = release_payload("created", "v1.9.0", true, false);
  auto r = client.Post("/webhook", {{"X-GitHub-Event", "release"}, {"X-Hub-Signature-256", webhook_signature(kSecret, body)}},
                       body, "application/json");
  REQUIRE_MESSAGE(r, read_file(dir / "log"));
  CHECK(r->status == 201);
  CHECK(kube.workflows().size() == 1);
  for (int i = 0; i < 150 && client.Get("/readyz")->status != 200; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the first check may still run
  CHECK(client.Get("/readyz")->status == 200);
  // Without the client certificate the API refuses the handshake: not ready.
  write_file(dir / "kubeconfig", kube.kubeconfig_x509(read_file(dir / "ca.pem"), "", ""));
  int port2 = free_port();
  Process bare({sbpipe_binary(), "serve", "--listen", "127.0.0.1:" + std::to_string(port2), "--webhook-secret-file", p("secret"),
                "--allow-repo", kRepo},
               dir / "log2", {{"KUBECONFIG", p("kubeconfig")}, {"KUBERNETES_SERVICE_HOST", ""}});
  wait_for_port(port2);
  httplib::Client plain("127.0.0.1", port2);
  plain.set_read_timeout(15);
  CHECK(plain.Get("/readyz")->status == 503);
  CHECK(plain
            .Post("/webhook", {{"X-GitHub-Event", "release"}, {"X-Hub-Signature-256", webhook_signature(kSecret, body)}}, body,
                  "application/json")
            ->status == 503);
  CHECK(kube.workflows().size() == 1);
}

TEST_CASE("serve refuses to start without a secret or an allowed repository") {
  TempDir dir;
  auto no_secret =
      sbpipe({"serve", "--listen", "127.0.0.1:" + std::to_string(free_port()), "--allow-repo", kRepo},
             {{"SBPIPE_WEBHOOK_SECRET", ""}, {"KUBECONFIG", (dir / "none").string()}, {"KUBERNETES_SERVICE_HOST", ""}});
  CHECK(no_secret.exit_code == 2);
  write_file(dir / "secret", kSecret);
  auto no_repo = sbpipe({"serve", "--webhook-secret-file", (dir / "secret").string()});
  CHECK(no_repo.exit_code == 2);
  CHECK(no_repo.err.find("no allowed repository") != std::string::npos);
  auto help = sbpipe({"serve", "--help"});
  CHECK(help.out.find(kSecret) == std::string::npos);
  auto bad_listen = sbpipe({"serve", "--webhook-secret-file", (dir / "secret").string(), "--allow-repo", kRepo},
                           {{"SBPIPE_LISTEN", "nowhere"}});
  CHECK(bad_listen.exit_code == 2);
  CHECK(bad_listen.err.find("listen address 'nowhere': expected HOST:PORT") != std::string::npos);
}

TEST_CASE("submit: a re-run looks the release up, creates a fresh Workflow each time, and --wait follows it") {
  KubeStandIn kube;
  GitHubStandIn github;
  auto id = github.create_release(kRepo, "v1.9.0");
  github.create_release(kRepo, "v1.8.9", false);
  TempDir dir;
  write_file(dir / "kubeconfig", kube.kubeconfig());
  std::map<std::string, std::string> env{
      {"KUBECONFIG", (dir / "kubeconfig").string()}, {"KUBERNETES_SERVICE_HOST", ""}, {"GITHUB_TOKEN", github.token()}};
  std::vector<std::string> base{"submit", "--repo", kRepo, "--github-api", github.api_url()};
  auto with = [&](std::vector<std::string> extra) {
    auto args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return sbpipe(args, env);
  };

  auto dry = with({"--tag", "v1.9.0", "--dry-run"});
  REQUIRE_MESSAGE(dry.exit_code == 0, dry.err);
  auto printed = json::parse(dry.out);
  CHECK(printed["metadata"]["generateName"] == "talos-build-v1-9-0-" + std::to_string(id) + "-r");
  CHECK(printed["spec"]["arguments"]["parameters"][3] == json{{"name", "release-state"}, {"value", "prerelease"}});
  CHECK(schema_violations("argo-workflows/workflow-argoproj-v1alpha1.json", printed) == "");
  CHECK(kube.workflows().empty());

  auto one = with({"--tag", "v1.9.0"});
  auto two = with({"--tag", "v1.9.0"});
  REQUIRE_MESSAGE(one.exit_code == 0, one.err);
  REQUIRE(two.exit_code == 0);
  CHECK(one.out != two.out);
  CHECK(kube.workflows().size() == 2);

  auto full = with({"--tag", "v1.8.9"});
  CHECK(full.exit_code == 1);
  CHECK(full.err.find("is a full release already; --force") != std::string::npos);
  CHECK(with({"--tag", "v1.13.9"}).exit_code == 1);
  // Two drafts with one tag: refused by tag, resolved by --release-id.
  auto draft_a = github.create_release(kRepo, "v1.12.0", true, true);
  github.create_release(kRepo, "v1.12.0", true, true);
  auto ambiguous = with({"--tag", "v1.12.0", "--dry-run"});
  CHECK(ambiguous.exit_code == 1);
  CHECK(ambiguous.err.find("2 draft releases carry this tag") != std::string::npos);
  // A dry run with --release-id asks GitHub nothing (issue 15, as argo submit --dry-run):
  // the id and --release-state are taken as given ...
  auto picked = with({"--tag", "v1.12.0", "--release-id", std::to_string(draft_a), "--release-state", "draft", "--dry-run"});
  REQUIRE_MESSAGE(picked.exit_code == 0, picked.err);
  CHECK(picked.err.find("GitHub not asked") != std::string::npos);
  auto picked_wf = json::parse(picked.out);
  CHECK(picked_wf["spec"]["arguments"]["parameters"][2]["value"] == std::to_string(draft_a));
  CHECK(picked_wf["spec"]["arguments"]["parameters"][3]["value"] == "draft");
  // ... and the real submit checks them against GitHub before it creates anything.
  size_t before = kube.workflows().size();
  auto mismatch = with({"--tag", "v1.9.0", "--release-id", std::to_string(draft_a)});
  CHECK(mismatch.exit_code == 2);
  CHECK(mismatch.err.find("has tag 'v1.12.0', not v1.9.0") != std::string::npos);
  auto wrong_state = with({"--tag", "v1.12.0", "--release-id", std::to_string(draft_a), "--release-state", "prerelease"});
  CHECK(wrong_state.exit_code == 2);
  CHECK(wrong_state.err.find("release v1.12.0 of " + kRepo + " is a draft, not a prerelease (--release-state)") !=
        std::string::npos);
  CHECK(kube.workflows().size() == before);

  auto waited = with({"--tag", "v1.9.0", "--wait", "--poll-interval", "1"});
  CHECK_MESSAGE(waited.exit_code == 0, waited.err);
  CHECK(waited.err.find(": Running") != std::string::npos);
  CHECK(waited.err.find(": Succeeded") != std::string::npos);
  kube.with_faults([](KubeFaults& f) { f.final_phase = "Failed"; });
  auto failed = with({"--tag", "v1.9.0", "--wait", "--poll-interval", "1"});
  CHECK(failed.exit_code == 1);
  CHECK(failed.err.find("ended Failed: child 'verify' failed") != std::string::npos);
}

}  // TEST_SUITE("integration")

}  // namespace sbpipe::test

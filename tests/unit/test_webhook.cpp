// Unit tests of the receiver's logic: signatures (GitHub's documented test
// vector), the release-event filter, Workflow names and objects, the serve
// config, kubeconfig and in-cluster configuration, and metrics.

#include <doctest/doctest.h>

#include <chrono>

#include "core/base64.h"
#include "core/build_info.h"
#include "kube/config.h"
#include "kube/workflow.h"
#include "support/process.h"
#include "support/prometheus_text.h"
#include "webhook/event.h"
#include "webhook/metrics.h"
#include "webhook/serve_config.h"
#include "webhook/signature.h"

using namespace sbpipe;
using namespace sbpipe::test;
using nlohmann::json;

namespace {

std::string release_event(const std::string& action, const std::string& repo, const std::string& tag, bool prerelease, bool draft,
                          int64_t id = 42) {
  return json{{"action", action},
              {"repository", {{"full_name", repo}}},
              {"release", {{"id", id}, {"tag_name", tag}, {"prerelease", prerelease}, {"draft", draft}}}}
      .dump();
}

EventFilter make_filter(Trigger trigger = Trigger::prerelease) {
  EventFilterConfig config;
  config.allowed_repos = {"Owner/Talos-Build"};
  config.trigger = trigger;
  return *EventFilter::create(config);
}

Getenv env_of(std::map<std::string, std::string> values) {
  return [values](const char* name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

}  // namespace

TEST_SUITE("unit") {

TEST_CASE("webhook signature: GitHub's documented test vector, rotation and malformed headers") {
  // docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries#testing-the-webhook-payload-validation
  const std::string secret = "It's a Secret to Everybody";
  const std::string expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
  CHECK(webhook_signature(secret, "Hello, World!") == expected);
  CHECK(verify_webhook_signature({secret}, "Hello, World!", expected));
  CHECK(verify_webhook_signature({"new secret", secret}, "Hello, World!", expected));  // during a rotation
  CHECK_FALSE(verify_webhook_signature({"new secret"}, "Hello, World!", expected));
  CHECK_FALSE(verify_webhook_signature({secret}, "Hello, World?", expected));
  CHECK_FALSE(verify_webhook_signature({secret}, "Hello, World!", ""));
  CHECK_FALSE(verify_webhook_signature({secret}, "Hello, World!", "sha1=757107ea0eb2509fc211221cce984b8a37570b6d"));
  CHECK_FALSE(verify_webhook_signature({secret}, "Hello, World!", expected.substr(0, 70)));
  CHECK_FALSE(verify_webhook_signature({}, "Hello, World!", expected));
}

TEST_CASE("event filter: the three actions of a pre-release are accepted; everything else is ignored with its reason") {
  auto filter = make_filter();
  for (const char* action : {"created", "prereleased", "published"}) {
    auto d = filter.decide("release", release_event(action, "owner/talos-build", "v1.9.0", true, false));
    REQUIRE(d);
    CHECK_MESSAGE(d->accepted, action);
    CHECK(d->release.release_id == 42);
  }
  auto reason = [&](std::string_view event, const std::string& body) { return filter.decide(event, body)->reason; };
  CHECK(reason("push", "{}") == "event 'push' is not handled (only release)");
  CHECK(reason("release", release_event("created", "other/repo", "v1.9.0", true, false)) ==
        "repository other/repo is not allowed");
  CHECK(reason("release", release_event("created", "owner/talos-build", "v1.9.0", true, true)) == "release v1.9.0 is a draft");
  CHECK(reason("release", release_event("released", "owner/talos-build", "v1.9.0", false, false)) ==
        "action 'released' does not start a run");
  CHECK(reason("release", release_event("published", "owner/talos-build", "v1.9.0", false, false)) ==
        "release v1.9.0 is a full release, not a pre-release");
  CHECK(reason("release", release_event("created", "owner/talos-build", "nightly", true, false)) ==
        "tag nightly does not match ^v\\d+\\.\\d+\\.\\d+.*$");
  CHECK(filter.decide("release", "{not json").error().kind() == ErrorKind::invalid_input);
  CHECK(filter.decide("release", R"({"action":"created","release":{}})").error().message() ==
        "release event without repository.full_name, release.tag_name or release.id");
}

TEST_CASE("event filter: unpublished and deleted withdraw the release's runs, in either trigger mode") {
  for (auto trigger : {Trigger::prerelease, Trigger::draft}) {
    auto filter = make_filter(trigger);
    for (const char* action : {"unpublished", "deleted"}) {
      CAPTURE(action);
      auto d = filter.decide("release", release_event(action, "owner/talos-build", "v1.9.0", true, true, 77));
      REQUIRE(d);
      CHECK(d->withdraw);
      CHECK_FALSE(d->accepted);
      CHECK(d->reason.empty());
      CHECK(d->release.release_id == 77);
    }
    auto other = filter.decide("release", release_event("deleted", "other/repo", "v1.9.0", true, false));
    CHECK_FALSE(other->withdraw);
    CHECK(other->reason == "repository other/repo is not allowed");
    auto nightly = filter.decide("release", release_event("unpublished", "owner/talos-build", "nightly", true, true));
    CHECK_FALSE(nightly->withdraw);
  }
  // An accepted delivery carries the state the run starts from.
  CHECK(make_filter().decide("release", release_event("published", "owner/talos-build", "v1.9.0", true, false))->release.state ==
        "prerelease");
  CHECK(make_filter(Trigger::draft)
            .decide("release", release_event("created", "owner/talos-build", "v1.9.0", false, true))
            ->release.state == "draft");
}

TEST_CASE("event filter: trigger draft takes created drafts only") {
  auto filter = make_filter(Trigger::draft);
  CHECK(filter.decide("release", release_event("created", "owner/talos-build", "v1.9.0", false, true))->accepted);
  CHECK_FALSE(filter.decide("release", release_event("published", "owner/talos-build", "v1.9.0", true, false))->accepted);
  CHECK(EventFilter::create(EventFilterConfig{{}, "^v", Trigger::prerelease}).error().message() ==
        "no allowed repository (allow_repos / --allow-repo)");
  auto bad = EventFilter::create(EventFilterConfig{{"a/b"}, "(", Trigger::prerelease});
  CHECK(bad.error().kind() == ErrorKind::config);
}

TEST_CASE("workflow names are DNS-safe, at most 63 characters, and distinct where they must be cut") {
  CHECK(workflow_name({"owner/talos-build", "v1.9.0", 42}) == "talos-build-v1-9-0-42");
  CHECK(workflow_name({"Owner/My_Repo", "V1.9.0+Build.7", 9}) == "my-repo-v1-9-0-build-7-9");
  std::string long_tag = "v1.9.0-" + std::string(80, 'x');
  auto a = workflow_name({"owner/talos-build", long_tag, 1});
  auto b = workflow_name({"owner/talos-build", long_tag, 2});
  CHECK(a.size() == 63);
  CHECK(a != b);
  CHECK(a.substr(0, 20) == "talos-build-v1-9-0-x");
  for (const auto& name : {a, b}) {
    CHECK(std::isalnum(static_cast<unsigned char>(name.front())));
    CHECK(std::isalnum(static_cast<unsigned char>(name.back())));
  }
  CHECK(workflow_name({"owner/_", "", 5}) == "5");
  CHECK(label_value("owner/talos-build") == "owner.talos-build");
  CHECK(label_value("-v1+x-") == "v1_x");
}

TEST_CASE("the Workflow object: template reference, parameters, labels, annotations; generateName for re-runs") {
  WorkflowTarget target;
  target.namespace_name = "builds";
  target.release_id_parameter = "rid";
  auto wf = make_workflow({"owner/talos-build", "v1.9.0", 42}, target, {"d-1", "published"});
  CHECK(wf["kind"] == "Workflow");
  CHECK(wf["metadata"]["name"] == "talos-build-v1-9-0-42");
  CHECK(wf["metadata"]["namespace"] == "builds");
  CHECK(wf["metadata"]["labels"]["sbpipe.dev/repo"] == "owner.talos-build");
  CHECK(wf["metadata"]["annotations"]["sbpipe.dev/delivery"] == "d-1");
  CHECK(wf["spec"]["workflowTemplateRef"]["name"] == "talos-secureboot-build");
  CHECK(wf["spec"]["arguments"]["parameters"][2] == json{{"name", "rid"}, {"value", "42"}});
  CHECK(wf["spec"]["arguments"]["parameters"].size() == 3);  // no state known: not pinned
  auto pinned = make_workflow({"owner/talos-build", "v1.9.0", 42, "prerelease"}, target, {"d-1", "published"});
  CHECK(pinned["spec"]["arguments"]["parameters"][3] == json{{"name", "release-state"}, {"value", "prerelease"}});
  CHECK(release_selector({"owner/talos-build", "v1.9.0", 42}) == "sbpipe.dev/release-id=42,sbpipe.dev/repo=owner.talos-build");
  auto rerun = make_workflow({"owner/talos-build", "v1.9.0", 42}, target, {"", "submit"}, true);
  CHECK_FALSE(rerun["metadata"].contains("name"));
  CHECK(rerun["metadata"]["generateName"] == "talos-build-v1-9-0-42-r");
  CHECK_FALSE(rerun["metadata"]["annotations"].contains("sbpipe.dev/delivery"));
}

TEST_CASE("serve config: the serve section, listen parsing, unknown keys") {
  auto s = parse_serve_config(R"(
imager: {outputs: [iso]}
serve:
  listen: 127.0.0.1:9000
  allow_repos: [owner/talos-build]
  trigger: draft
  webhook_secret_files: [/a, /b]
  kubernetes:
    namespace: builds
    workflow_template: tpl
    parameters: {version: v, release_id: rid}
)",
                              "sbpipe.yaml");
  REQUIRE(s);
  CHECK(s->server.host == "127.0.0.1");
  CHECK(s->server.port == 9000);
  CHECK(s->filter.trigger == Trigger::draft);
  CHECK(s->secret_files.size() == 2);
  CHECK(s->target.namespace_name == "builds");
  CHECK(s->target.version_parameter == "v");
  CHECK(s->target.release_id_parameter == "rid");
  CHECK(parse_serve_config("serve: {lisen: x}", "f.yaml").error().message() == "f.yaml: unknown key serve.lisen");
  CHECK(parse_serve_config("serve: {trigger: always}", "f.yaml").error().message() ==
        "f.yaml: serve.trigger must be prerelease or draft");
  ServerConfig server;
  CHECK(parse_listen(":8443", server));
  CHECK(server.host == "0.0.0.0");
  CHECK(server.port == 8443);
  CHECK(parse_listen("[::1]:80", server));
  CHECK(server.host == "::1");
  CHECK(parse_listen("localhost", server).error().message() == "listen address 'localhost': expected HOST:PORT");
}

TEST_CASE("kubeconfig: token, client certificate data, relative CA file, contexts; exec plugins are refused") {
  TempDir dir;
  write_file(dir / "ca.pem", "CA PEM");
  write_file(dir / "config", R"(apiVersion: v1
kind: Config
current-context: home
clusters:
- name: homelab
  cluster:
    server: https://10.0.0.5:6443/
    certificate-authority: ca.pem
- name: other
  cluster:
    server: https://other:6443
    insecure-skip-tls-verify: true
contexts:
- name: home
  context: {cluster: homelab, user: admin, namespace: builds}
- name: other
  context: {cluster: other, user: robot}
- name: plugin
  context: {cluster: other, user: sso}
users:
- name: admin
  user:
    client-certificate-data: )" + base64_encode("CERT PEM") +
                                 R"(
    client-key-data: )" + base64_encode("KEY PEM") +
                                 R"(
- name: robot
  user: {token: robot-token-123456}
- name: sso
  user: {exec: {command: kubelogin}}
)");
  auto home = load_kubeconfig(dir / "config");
  REQUIRE(home);
  CHECK(home->server == "https://10.0.0.5:6443");
  CHECK(home->ca_pem == "CA PEM");
  CHECK(home->client_cert_pem == "CERT PEM");
  CHECK(home->client_key_pem == "KEY PEM");
  CHECK(home->namespace_name == "builds");
  CHECK_FALSE(home->token);
  auto other = load_kubeconfig(dir / "config", "other");
  REQUIRE(other);
  CHECK(other->insecure_skip_verify);
  CHECK(*other->token() == "robot-token-123456");
  CHECK(load_kubeconfig(dir / "config", "plugin").error().message().find("exec or auth-provider plugin") != std::string::npos);
  CHECK(load_kubeconfig(dir / "config", "none").error().message() ==
        "kubeconfig " + (dir / "config").string() + ": context 'none' not found");
  CHECK(load_kubeconfig(dir / "missing").error().kind() == ErrorKind::config);

  auto via_env = load_kube_config(env_of({{"KUBECONFIG", (dir / "config").string() + ":/other"}}));
  REQUIRE(via_env);
  CHECK(via_env->source == (dir / "config").string());
}

TEST_CASE("kubeconfig list: merged as kubectl merges it; --kubeconfig and --context choose") {
  TempDir one;
  TempDir two;
  write_file(one / "ca.pem", "CA OF ONE");
  write_file(two / "token", "bob-token-from-two\n");
  // The first file to name a context, cluster or user wins it; current-context
  // comes from the first file that sets one (here the second).
  write_file(one / "config", R"(apiVersion: v1
kind: Config
clusters:
- name: shared
  cluster: {server: "https://first:6443", certificate-authority: ca.pem}
contexts:
- name: dev
  context: {cluster: shared, user: alice, namespace: builds}
)");
  write_file(two / "config", R"(apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: shared
  cluster: {server: "https://second:6443"}
contexts:
- name: dev
  context: {cluster: shared, user: bob, namespace: ignored}
- name: prod
  context: {cluster: shared, user: bob}
users:
- name: alice
  user: {token: alice-token-123456}
- name: bob
  user: {tokenFile: token}
)");
  std::string list = (one / "config").string() + ":" + (one / "missing").string() + ":" + (two / "config").string();
  auto dev = load_kube_config(env_of({{"KUBECONFIG", list}}));
  REQUIRE(dev);
  CHECK(dev->context == "dev");
  CHECK(dev->server == "https://first:6443");
  CHECK(dev->ca_pem == "CA OF ONE");  // relative to the file the cluster came from
  CHECK(*dev->token() == "alice-token-123456");
  CHECK(dev->namespace_name == "builds");
  CHECK(dev->source == (one / "config").string() + ":" + (two / "config").string());

  auto prod = load_kube_config(env_of({{"KUBECONFIG", list}}), KubeSelection{"", "prod"});
  REQUIRE(prod);
  CHECK(*prod->token() == "bob-token-from-two");  // tokenFile relative to the second file
  CHECK(prod->namespace_name.empty());

  // --kubeconfig replaces KUBECONFIG; --context picks within it.
  auto only_two = load_kube_config(env_of({{"KUBECONFIG", list}}), KubeSelection{(two / "config").string(), ""});
  REQUIRE(only_two);
  CHECK(only_two->server == "https://second:6443");
  CHECK(only_two->namespace_name == "ignored");
  // --context wins over in-cluster, which has no contexts.
  auto chosen =
      load_kube_config(env_of({{"KUBECONFIG", list}, {"KUBERNETES_SERVICE_HOST", "10.96.0.1"}}), KubeSelection{"", "dev"});
  REQUIRE(chosen);
  CHECK(chosen->server == "https://first:6443");

  CHECK(load_kube_config(env_of({{"KUBECONFIG", list}}), KubeSelection{"", "staging"}).error().message() ==
        "kubeconfig " + dev->source + ": context 'staging' not found");
  CHECK(load_kube_config(env_of({{"KUBECONFIG", (one / "config").string()}})).error().message() ==
        "kubeconfig " + (one / "config").string() + ": no current-context (pass --context NAME)");
  CHECK(load_kube_config(env_of({{"KUBECONFIG", (one / "x").string() + ":" + (two / "y").string()}})).error().message() ==
        "kubeconfig: none of " + (one / "x").string() + ":" + (two / "y").string() + " exists");
}

TEST_CASE("in-cluster configuration re-reads a rotated token") {
  TempDir dir;
  write_file(dir / "ca.crt", "CLUSTER CA");
  write_file(dir / "token", "token-one-abcdef\n");
  write_file(dir / "namespace", "argo\n");
  auto env = env_of({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}});
  auto config = load_in_cluster_config(env, dir.path());
  REQUIRE(config);
  CHECK(config->server == "https://10.96.0.1:443");
  CHECK(config->namespace_name == "argo");
  CHECK(*config->token() == "token-one-abcdef");
  write_file(dir / "token", "token-two-abcdef\n");
  CHECK(*config->token() == "token-two-abcdef");
  auto v6 = load_in_cluster_config(env_of({{"KUBERNETES_SERVICE_HOST", "fd00::1"}}), dir.path());
  CHECK(v6->server == "https://[fd00::1]:443");
  std::filesystem::remove(dir / "token");
  CHECK(load_in_cluster_config(env, dir.path()).error().message().find("no service-account token") != std::string::npos);
}

TEST_CASE("metrics render in Prometheus text format with escaped labels and a cumulative histogram") {
  WebhookMetrics m;
  m.count_delivery("release", "created", "created");
  m.count_delivery("release", "created", "created");
  m.count_delivery("release", "a\"b", "ignored");
  m.count_submission("created");
  m.observe_latency(0.002);
  m.observe_latency(3);
  std::string text = m.render();
  CHECK(text.find("sbpipe_webhook_deliveries_total{event=\"release\",action=\"created\",outcome=\"created\"} 2\n") !=
        std::string::npos);
  CHECK(text.find("action=\"a\\\"b\"") != std::string::npos);
  CHECK(text.find("sbpipe_workflow_submissions_total{outcome=\"created\"} 1\n") != std::string::npos);
  CHECK(text.find("sbpipe_webhook_request_duration_seconds_bucket{le=\"0.0025\"} 1\n") != std::string::npos);
  CHECK(text.find("sbpipe_webhook_request_duration_seconds_bucket{le=\"5\"} 2\n") != std::string::npos);
  CHECK(text.find("sbpipe_webhook_request_duration_seconds_bucket{le=\"+Inf\"} 2\n") != std::string::npos);
  CHECK(text.find("sbpipe_webhook_request_duration_seconds_count 2\n") != std::string::npos);
  m.add_collector([] { return std::string("# HELP extra_total x.\n# TYPE extra_total counter\nextra_total 7\n"); });
  auto parsed = parse_prometheus_text(m.render());
  CHECK(parsed.problems.empty());
  CHECK(parsed.value("extra_total") == 7);
  CHECK(parsed.types["sbpipe_build_info"] == "gauge");
  std::string info = "sbpipe_build_info{version=\"" SBPIPE_VERSION "\",commit=\"" + build_info().commit + "\",compiler=\"" +
                     build_info().compiler + "\"}";
  CHECK(parsed.value(info) == 1);
  CHECK((build_info().commit == "unknown" || build_info().commit.size() == 12));
  // The process collector's families, as client libraries name them.
  CHECK(parsed.types["process_cpu_seconds_total"] == "counter");
  CHECK(parsed.value("process_resident_memory_bytes") > 0);
  CHECK(parsed.value("process_open_fds") >= 3);
  CHECK(parsed.value("process_max_fds") >= parsed.value("process_open_fds"));
  auto now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  CHECK(parsed.value("process_start_time_seconds") <= now + 1);
  CHECK(parsed.value("process_start_time_seconds") > now - 86400 * 2);
}

}  // TEST_SUITE("unit")

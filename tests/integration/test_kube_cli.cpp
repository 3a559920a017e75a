// Kubernetes as kubectl reaches it (kubernetes.io/docs/concepts/configuration/
// organize-cluster-access-kubeconfig, "Merging kubeconfig files"): a
// two-file KUBECONFIG merged, --context, --kubeconfig, the context's
// namespace when -n is not given; and `submit --dry-run --release-id`
// without GitHub. Against the Kubernetes API stand-in and the GitHub one.

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "integration/push_helpers.h"
#include "support/github_standin.h"
#include "support/kube_standin.h"

namespace sbpipe::test {
namespace {

using nlohmann::json;

const std::string k_repo = "owner/talos-build";

// Two files as a person ends up with: the first names the current context
// and the user; the second the cluster, another context and a user of the
// same name whose token is wrong (the first file's entry must win).
struct TwoFiles {
  TempDir dir;
  std::string first;
  std::string second;
  explicit TwoFiles(const KubeStandIn& kube) {
    first = (dir / "config-a").string();
    second = (dir / "config-b").string();
    write_file(first,
               "apiVersion: v1\nkind: Config\ncurrent-context: lab\n"
               "contexts:\n- name: lab\n  context: {cluster: standin, user: robot, namespace: builds}\n"
               "users:\n- name: robot\n  user: {token: " +
                   kube.token() + "}\n");
    write_file(second,
               "apiVersion: v1\nkind: Config\n"
               "clusters:\n- name: standin\n  cluster: {server: \"" +
                   kube.url() +
                   "\"}\n"
                   "contexts:\n- name: ops\n  context: {cluster: standin, user: robot, namespace: ops}\n"
                   "users:\n- name: robot\n  user: {token: wrong-token-0000000}\n");
  }
  std::string list() const { return first + ":" + second; }
};

TEST_SUITE("integration") {

TEST_CASE("kube: a two-file KUBECONFIG is merged; --context, --kubeconfig and -n choose as in kubectl") {
  KubeStandIn kube;
  GitHubStandIn github;
  github.create_release(k_repo, "v1.9.0");
  TwoFiles files(kube);
  std::map<std::string, std::string> env{
      {"KUBECONFIG", files.list()}, {"KUBERNETES_SERVICE_HOST", ""}, {"GITHUB_TOKEN", github.token()}};
  auto submit = [&](std::vector<std::string> extra) {
    std::vector<std::string> args{"submit", "-R", k_repo, "--tag", "v1.9.0", "--github-api", github.api_url()};
    args.insert(args.end(), extra.begin(), extra.end());
    return sbpipe(args, env);
  };

  // What this test expects of the merge is what kubectl itself makes of the
  // two files (`kubectl config view --minify --raw`: the chosen context,
  // its cluster and user, after merging).
  auto kubectl = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv{"kubectl", "config", "view", "--minify", "--raw", "-o", "json"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto r = run(argv, {{"KUBECONFIG", files.list()}});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    return json::parse(r.out);
  };
  auto lab = kubectl({});
  CHECK(lab["current-context"] == "lab");
  CHECK(lab["contexts"][0]["context"]["namespace"] == "builds");
  CHECK(lab["clusters"][0]["cluster"]["server"] == kube.url());
  CHECK(lab["users"][0]["user"]["token"] == kube.token());  // the first file's robot wins
  CHECK(kubectl({"--context", "ops"})["contexts"][0]["context"]["namespace"] == "ops");

  auto current = submit({});
  REQUIRE_MESSAGE(current.exit_code == 0, current.err);
  CHECK(kube.workflows("builds").size() == 1);  // the current context's namespace

  auto ops = submit({"--context", "ops", "--log-level", "debug"});
  REQUIRE_MESSAGE(ops.exit_code == 0, ops.err);
  CHECK(kube.workflows("ops").size() == 1);
  CHECK(ops.err.find("Workflows through kubeconfig " + files.list() + " context ops (server " + kube.url() + ")") !=
        std::string::npos);

  auto flag = submit({"--context", "ops", "-n", "argo"});
  REQUIRE_MESSAGE(flag.exit_code == 0, flag.err);
  CHECK(kube.workflows("argo").size() == 1);

  auto alone = submit({"--kubeconfig", files.second});
  CHECK(alone.exit_code == 2);
  CHECK(alone.err.find("kubeconfig " + files.second + ": no current-context (pass --context NAME)") != std::string::npos);
  // The second file alone has the wrong token for its user: the API refuses it.
  auto wrong = submit({"--kubeconfig", files.second, "--context", "ops"});
  CHECK(wrong.exit_code == 1);
  CHECK(wrong.err.find("wrong-token-0000000") == std::string::npos);
  CHECK(kube.workflows("ops").size() == 1);

  auto unknown = submit({"--context", "staging"});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err.find("kubeconfig " + files.list() + ": context 'staging' not found") != std::string::npos);
}

TEST_CASE("kube: serve names the kubeconfig, context, server and namespace it submits to") {
  KubeStandIn kube;
  TwoFiles files(kube);
  write_file(files.dir / "secret", "webhook-secret-0123456789\n");
  int port = free_port();
  Process serve({sbpipe_binary(), "serve", "--listen", "127.0.0.1:" + std::to_string(port), "--webhook-secret-file",
                 (files.dir / "secret").string(), "--allow-repo", k_repo},
                files.dir / "serve.log", {{"KUBECONFIG", files.list()}, {"KUBERNETES_SERVICE_HOST", ""}});
  wait_for_port(port);
  serve.stop();
  std::string log = read_file(files.dir / "serve.log");
  CHECK_MESSAGE(log.find("accepted releases become Workflows through kubeconfig " + files.list() + " context lab (server " +
                         kube.url() + ") namespace builds template talos-secureboot-build") != std::string::npos,
                log);
}

TEST_CASE("submit --dry-run --release-id: the Workflow without GitHub, a token or the API") {
  KubeStandIn kube;
  TwoFiles files(kube);
  int closed = free_port();  // no GitHub here: a request would fail
  std::vector<std::string> args{"submit",     "-R",           k_repo,         "--tag",
                                "v1.9.0",     "--release-id", "4242",         "--release-state",
                                "prerelease", "--dry-run",    "--github-api", "http://127.0.0.1:" + std::to_string(closed)};
  auto dry =
      sbpipe(args, {{"KUBECONFIG", files.list()}, {"KUBERNETES_SERVICE_HOST", ""}, {"GH_TOKEN", ""}, {"GITHUB_TOKEN", ""}});
  REQUIRE_MESSAGE(dry.exit_code == 0, dry.err);
  CHECK(dry.err.find("dry run with --release-id: GitHub not asked") != std::string::npos);
  auto workflow = json::parse(dry.out);
  CHECK(workflow["metadata"]["namespace"] == "builds");
  CHECK(workflow["kind"] == "Workflow");
  CHECK(schema_violations("argo-workflows/workflow-argoproj-v1alpha1.json", workflow) == "");
  std::string params = workflow["spec"]["arguments"].dump();
  CHECK(params.find("4242") != std::string::npos);
  CHECK(params.find("prerelease") != std::string::npos);
  CHECK(dry.out.find(kube.token()) == std::string::npos);
  CHECK(kube.requests().empty());

  // Without a kubeconfig at all: the default namespace; still no network.
  TempDir home;
  auto bare = sbpipe(args, {{"KUBECONFIG", ""},
                            {"HOME", home.path().string()},
                            {"KUBERNETES_SERVICE_HOST", ""},
                            {"GH_TOKEN", ""},
                            {"GITHUB_TOKEN", ""}});
  REQUIRE_MESSAGE(bare.exit_code == 0, bare.err);
  CHECK(json::parse(bare.out)["metadata"]["namespace"] == "argo");

  // Without --release-id the release must be looked up: that needs a token.
  auto lookup = sbpipe({"submit", "-R", k_repo, "--tag", "v1.9.0", "--dry-run"},
                       {{"KUBECONFIG", files.list()}, {"KUBERNETES_SERVICE_HOST", ""}, {"GH_TOKEN", ""}, {"GITHUB_TOKEN", ""}});
  CHECK(lookup.exit_code == 2);
  CHECK(lookup.err.find("no GitHub token") != std::string::npos);
}

}  // TEST_SUITE("integration")

}  // namespace
}  // namespace sbpipe::test

// Unit tests of `sbpipe run`'s pure parts and of the local executor's queue:
// the imager command template, the run: config section, the source URL
// that provenance records, and the queue's persistence (with `true` and
// `false` as the run command, so no pipeline runs here).

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <thread>

#include "core/subprocess.h"
#include "pipeline/imager_command.h"
#include "pipeline/imager_exit.h"
#include "pipeline/local_executor.h"
#include "pipeline/provenance.h"
#include "pipeline/run_config.h"
#include "pipeline/run_text.h"
#include "pipeline/runner.h"
#include "support/process.h"
#include "support/prometheus_text.h"

using namespace sbpipe;
using namespace sbpipe::test;
namespace fs = std::filesystem;

namespace {

// Waits until the entry `name` reaches `state` (or 10 s pass).
nlohmann::json wait_for_state(LocalExecutor& executor, const std::string& name, const std::string& state) {
  for (int i = 0; i < 500; ++i) {
    for (const auto& e : executor.entries())
      if (e["name"] == name && e["state"] == state) return e;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return {};
}

}  // namespace

TEST_SUITE("unit") {

TEST_CASE("imager command: words split with quotes, placeholders filled, {args} spliced") {
  auto words = split_command("podman run --rm -v '{keys}:/secureboot:ro' -v \"{out}:/out\" {image} {args}");
  REQUIRE(words);
  CHECK(*words == std::vector<std::string>{"podman", "run", "--rm", "-v", "{keys}:/secureboot:ro", "-v", "{out}:/out", "{image}",
                                           "{args}"});
  CHECK(split_command("a 'b").error().message().find("unterminated quote") != std::string::npos);
  ImagerSlots slots{"/k", "/o", "ghcr.io/siderolabs/imager:v1.9.0", {"iso", "--arch", "amd64", "--output", "/out"}};
  auto argv = expand_imager_command(*words, slots);
  REQUIRE(argv);
  CHECK(*argv == std::vector<std::string>{"podman", "run", "--rm", "-v", "/k:/secureboot:ro", "-v", "/o:/out",
                                          "ghcr.io/siderolabs/imager:v1.9.0", "iso", "--arch", "amd64", "--output", "/out"});
  auto unknown = expand_imager_command({"x", "{output}", "{args}"}, slots);
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().message().find("unknown placeholder {output}") != std::string::npos);
  auto no_args = expand_imager_command({"x", "{image}"}, slots);
  REQUIRE_FALSE(no_args);
  CHECK(no_args.error().message().find("needs the word {args}") != std::string::npos);
}

TEST_CASE("run: section: every key read, the command as a string or a list, mistakes named") {
  auto s = parse_run_config(
      "imager: {outputs: [iso]}\nrun:\n  repo: o/r\n  target: dir:/srv/pxe\n  state_dir: /var/lib/sbpipe\n"
      "  keys_dir: /etc/k\n  imager_command: docker run -v {out}:/out {image} {args}\n"
      "  installer_repository: ghcr.io/o/installer\n  make_latest: false\n  plain_http: true\n"
      "  registry_password_file: /run/p\n  require_cmdline: [lockdown=integrity]\n",
      "sbpipe.yaml");
  REQUIRE(s);
  CHECK(s->repo == "o/r");
  CHECK(s->target == "dir:/srv/pxe");
  CHECK(s->imager_command == std::vector<std::string>{"docker", "run", "-v", "{out}:/out", "{image}", "{args}"});
  CHECK_FALSE(s->make_latest);
  CHECK(s->registry.plain_http);
  CHECK(s->registry.password_file == "/run/p");
  auto listed = parse_run_config("run:\n  imager_command: [/usr/bin/imager, '{args}']\n  imager_output: '{out}'\n", "f");
  REQUIRE(listed);
  CHECK(listed->imager_command == std::vector<std::string>{"/usr/bin/imager", "{args}"});
  auto defaults = parse_run_config("imager: {}\n", "f");
  REQUIRE(defaults);
  CHECK(defaults->imager_command.front() == "docker");
  CHECK(defaults->make_latest);
  auto typo = parse_run_config("run:\n  instaler_repository: x\n", "sbpipe.yaml");
  REQUIRE_FALSE(typo);
  CHECK(typo.error().message().find("unknown key run.instaler_repository") != std::string::npos);
  CHECK(parse_run_config("run:\n  make_latest: maybe\n", "f").error().message().find("run.make_latest must be true or false") !=
        std::string::npos);
  CHECK(parse_run_config("run:\n  imager_command: imager {arguments}\n", "f").error().kind() == ErrorKind::config);
}

TEST_CASE("provenance: remote URLs become public https URLs without credentials") {
  CHECK(public_source_url("git@github.com:owner/talos-build.git") == "https://github.com/owner/talos-build");
  CHECK(public_source_url("https://x-access-token:ghs_abc@github.com/owner/r.git") == "https://github.com/owner/r");
  CHECK(public_source_url("ssh://git@gitea.lan:2222/owner/r") == "https://gitea.lan/owner/r");
  CHECK(public_source_url("https://github.com/owner/r/") == "https://github.com/owner/r");
  CHECK(public_source_url("/srv/git/r.git") == "");
}

TEST_CASE("subprocess: exit status, signals, and secrets kept out of the child's environment") {
  TempDir dir;
  CHECK(run_child(ChildSpec{{"sh", "-c", "exit 3"}, {}, {}, std::nullopt}) == 3);
  CHECK(run_child(ChildSpec{{"sh", "-c", "kill -9 $$"}, {}, {}, std::nullopt}) == 128 + 9);
  ::setenv("GITHUB_TOKEN", "ghp_should_not_pass", 1);
  ::setenv("GH_TOKEN", "gh_should_not_pass_either", 1);
  auto log = dir / "env.log";
  ChildSpec spec{{"sh", "-c", "env; echo to-stderr >&2"}, secret_env_names(), {{"EXTRA", "1"}}, log};
  CHECK(run_child(spec) == 0);
  ::unsetenv("GITHUB_TOKEN");
  ::unsetenv("GH_TOKEN");
  auto env = read_file(log);
  CHECK(env.find("ghp_should_not_pass") == std::string::npos);
  CHECK(env.find("gh_should_not_pass_either") == std::string::npos);
  CHECK(env.find("EXTRA=1\n") != std::string::npos);
  CHECK(env.find("to-stderr") != std::string::npos);
  CHECK(run_child(ChildSpec{{"/nonexistent/imager"}, {}, {}, std::nullopt})
            .error()
            .message()
            .find("cannot start /nonexistent/imager") != std::string::npos);
}

TEST_CASE("local executor: journaled before it answers, one entry per release, failures re-run on redelivery") {
  TempDir dir;
  ReleaseRef release{"owner/talos-build", "v1.9.0", 4242};
  std::string name;
  {
    auto executor = LocalExecutor::open(LocalExecutorConfig{dir.path(), {"false"}});
    REQUIRE(executor);
    auto first = (*executor)->submit(release, WorkflowOrigin{"d-1", "created"});
    REQUIRE(first);
    CHECK(first->created);
    name = first->name;
    CHECK(name == "talos-build-v1-9-0-4242");
    // On disk before submit returned, and private.
    auto entry = nlohmann::json::parse(read_file(dir / "queue" / (name + ".json")));
    CHECK(entry["state"] == "queued");
    CHECK(entry["delivery"] == "d-1");
    CHECK((fs::status(dir / "queue").permissions() & fs::perms::others_all) == fs::perms::none);
    auto again = (*executor)->submit(release, WorkflowOrigin{"d-2", "published"});
    REQUIRE(again);
    CHECK_FALSE(again->created);
    (*executor)->start();
    auto failed = wait_for_state(**executor, name, "failed");
    REQUIRE_FALSE(failed.is_null());
    CHECK(failed["exit_code"] == 1);
    CHECK(failed["attempts"] == 1);
    // A redelivery of a failed release queues it again.
    auto retried = (*executor)->submit(release, WorkflowOrigin{"d-3", "published"});
    REQUIRE(retried);
    CHECK(retried->created);
    CHECK_FALSE(wait_for_state(**executor, name, "failed").is_null());
    (*executor)->stop();
  }
  // Reopened: the entry is still there; a "running" one left by a crash is queued again.
  auto path = dir / "queue" / (name + ".json");
  auto entry = nlohmann::json::parse(read_file(path));
  CHECK(entry["attempts"] == 2);
  entry["state"] = "running";
  write_file(path, entry.dump());
  auto reopened = LocalExecutor::open(LocalExecutorConfig{dir.path(), {"true"}});
  REQUIRE(reopened);
  REQUIRE((*reopened)->entries().size() == 1);
  CHECK((*reopened)->entries()[0]["state"] == "queued");
  CHECK_FALSE((*reopened)->submit(release, WorkflowOrigin{"d-4", "published"})->created);
  (*reopened)->start();
  CHECK_FALSE(wait_for_state(**reopened, name, "done").is_null());
  CHECK(fs::exists(dir / "logs" / (name + ".log")));
  write_file(dir / "queue" / "broken.json", "{");
  auto damaged = LocalExecutor::open(LocalExecutorConfig{dir.path(), {"true"}});
  REQUIRE_FALSE(damaged);
  CHECK(damaged.error().message().find("broken.json: damaged queue entry") != std::string::npos);
}

TEST_CASE("local executor metrics: queue depth, runs by outcome, last success time (kept across a restart)") {
  TempDir dir;
  ReleaseRef good{"owner/talos-build", "v1.9.0", 1};
  auto before = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  {
    auto executor = LocalExecutor::open(LocalExecutorConfig{dir.path(), {"true"}});
    REQUIRE(executor);
    auto empty = parse_prometheus_text((*executor)->metrics_text());
    CHECK(empty.problems.empty());
    CHECK(empty.types["sbpipe_local_queue_depth"] == "gauge");
    CHECK(empty.types["sbpipe_local_runs_total"] == "counter");
    CHECK(empty.value("sbpipe_local_queue_depth") == 0);
    CHECK_FALSE(empty.has("sbpipe_last_successful_release_timestamp_seconds"));  // no success yet

    REQUIRE((*executor)->submit(good, WorkflowOrigin{"d-1", "created"}));
    REQUIRE((*executor)->submit(ReleaseRef{"owner/talos-build", "v1.9.1", 2}, WorkflowOrigin{"d-2", "created"}));
    CHECK(parse_prometheus_text((*executor)->metrics_text()).value("sbpipe_local_queue_depth") == 2);
    (*executor)->start();
    REQUIRE_FALSE(wait_for_state(**executor, "talos-build-v1-9-1-2", "done").is_null());
    auto after = parse_prometheus_text((*executor)->metrics_text());
    CHECK(after.problems.empty());
    CHECK(after.value("sbpipe_local_queue_depth") == 0);
    CHECK(after.value("sbpipe_local_runs_running") == 0);
    CHECK(after.value("sbpipe_local_runs_total{outcome=\"succeeded\"}") == 2);
    CHECK(after.value("sbpipe_local_runs_total{outcome=\"failed\"}") == 0);
    double last = after.value("sbpipe_last_successful_release_timestamp_seconds");
    CHECK(last >= static_cast<double>(before));
    CHECK(last <= static_cast<double>(before + 120));
    (*executor)->stop();
  }
  // A restart keeps the last success (from the queue on disk); the counters start again.
  auto reopened = LocalExecutor::open(LocalExecutorConfig{dir.path(), {"false"}});
  REQUIRE(reopened);
  auto text = parse_prometheus_text((*reopened)->metrics_text());
  CHECK(text.value("sbpipe_last_successful_release_timestamp_seconds") >= static_cast<double>(before));
  CHECK(text.value("sbpipe_local_runs_total{outcome=\"succeeded\"}") == 0);
  REQUIRE((*reopened)->submit(ReleaseRef{"owner/talos-build", "v1.9.2", 3}, WorkflowOrigin{"d-3", "created"}));
  (*reopened)->start();
  REQUIRE_FALSE(wait_for_state(**reopened, "talos-build-v1-9-2-3", "failed").is_null());
  CHECK(parse_prometheus_text((*reopened)->metrics_text()).value("sbpipe_local_runs_total{outcome=\"failed\"}") == 1);
  (*reopened)->stop();
}

TEST_CASE("imager's exit status: named by imager 1.14's categories; only dependency and I/O are retried") {
  CHECK(imager_exit_text(2) == "imager: invalid input (exit 2)");
  CHECK(imager_exit_text(3) == "imager: unsupported (exit 3)");
  CHECK(imager_exit_text(4) == "imager: environment (exit 4)");
  CHECK(imager_exit_text(5) == "imager: dependency (exit 5)");
  CHECK(imager_exit_text(6) == "imager: I/O error (exit 6)");
  CHECK(imager_exit_text(7) == "imager: install failed (exit 7)");
  CHECK(imager_exit_text(1) == "imager: unknown error (exit 1)");
  CHECK(imager_exit_text(137) == "imager: exit 137");
  for (int code : {1, 2, 3, 4, 7, 137}) CHECK_MESSAGE(imager_exit(code).retry == ImagerRetry::no, code);
  for (int code : {5, 6}) CHECK_MESSAGE(imager_exit(code).retry == ImagerRetry::yes, code);
}

}  // TEST_SUITE("unit")

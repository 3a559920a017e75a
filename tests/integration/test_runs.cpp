// sbpipe runs list|show|logs|retry|cancel through the binary, beside a real
// `sbpipe serve --executor local` whose runs are real `sbpipe run`s (the
// stand-in imager behind a gate file, a dir: target): what a person sees,
// a cancel that stops imager's whole process group, a retry that resumes,
// `logs -f` that ends with the run, and a damaged queue file that serve
// moves aside and goes on.

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <signal.h>

#include <atomic>
#include <regex>
#include <thread>

#include "integration/machine_output.h"
#include "integration/push_helpers.h"
#include "support/secureboot_fixtures.h"
#include "support/talos_model.h"
#include "webhook/signature.h"

namespace sbpipe::test {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::string kRepo = "owner/talos-build";
const TalosLine kLine = model_lines().back();
const int64_t kReleaseId = 47;

// A serve --executor local whose imager waits for `go` before it builds,
// after writing its shell's pid (the process imager's group holds).
struct LocalService {
  TempDir dir;
  fs::path keys = dir / "keys", state = dir / "state", pub = dir / "pub", config = dir / "sbpipe.yaml";
  fs::path go = dir / "go", imager_pids = dir / "imager.pids";
  std::string secret = "runs-webhook-secret-7";
  int port = free_port();
  std::unique_ptr<Process> serve;
  std::string name;

  LocalService() {
    make_owner_keys(keys);
    write_file(dir / "secret", secret + "\n");
    std::string gate =
        "echo $$ >> " + imager_pids.string() + "; while [ ! -e " + go.string() + " ]; do sleep 0.05; done; exec \"$0\" \"$@\"";
    write_file(config, "imager:\n  image: ghcr.io/siderolabs/imager:{version}\nrun:\n  state_dir: " + state.string() +
                           "\n  keys_dir: " + keys.string() + "\n  target: dir:" + pub.string() +
                           "\n  imager_command: [sh, -c, '" + gate + "', " + k_model +
                           ", '{args}', --keys, '{keys}']\n  imager_output: '{out}'\n");
    std::string tag = kLine.version;
    std::replace(tag.begin(), tag.end(), '.', '-');
    name = "talos-build-" + tag + "-" + std::to_string(kReleaseId);
  }
  ~LocalService() {
    write_file(go, "");  // a run still waiting ends, and serve stops it
    if (serve) serve->stop();
  }
  void start() {
    serve = std::make_unique<Process>(
        std::vector<std::string>{sbpipe_binary(), "serve", "--executor", "local", "--config", config.string(), "--listen",
                                 "127.0.0.1:" + std::to_string(port), "--webhook-secret-file", (dir / "secret").string(),
                                 "--allow-repo", kRepo},
        dir / "serve.log", model_env(kLine, {{"STANDIN_KERNEL", "random"}}));
    wait_for_port(port);
  }
  int deliver(const std::string& action, const std::string& delivery) {
    std::string body =
        json{{"action", action},
             {"release", {{"id", kReleaseId}, {"tag_name", kLine.version}, {"prerelease", true}, {"draft", false}}},
             {"repository", {{"full_name", kRepo}}}}
            .dump();
    auto r =
        run({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "X-GitHub-Event: release", "-H",
             "X-GitHub-Delivery: " + delivery, "-H", "X-Hub-Signature-256: " + webhook_signature(secret, body), "-H",
             "Content-Type: application/json", "--data-binary", body, "http://127.0.0.1:" + std::to_string(port) + "/webhook"});
    return std::stoi(r.out);
  }
  RunResult runs(std::vector<std::string> args) {
    args.insert(args.begin(), "runs");
    args.insert(args.end(), {"--config", config.string()});
    return sbpipe(args);
  }
  std::string state_of() {
    auto file = state / "queue" / (name + ".json");
    return fs::exists(file) ? json::parse(read_file(file)).value("state", "") : "";
  }
  // Until the entry is in `wanted` (the file serve writes; a minute at most).
  bool reaches(const std::string& wanted) {
    for (int i = 0; i < 1200; ++i) {
      if (state_of() == wanted) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }
  // Until imager has started `n` times; the last one's pid.
  int imager_started(size_t n) {
    for (int i = 0; i < 1200; ++i) {
      if (fs::exists(imager_pids)) {
        std::istringstream in(read_file(imager_pids));
        std::vector<int> pids;
        for (int pid; in >> pid;) pids.push_back(pid);
        if (pids.size() >= n) return pids[n - 1];
      }
      std::this_thread::sleep_for(50ms);
    }
    return 0;
  }
};

// Whether the process has ended (gone, or a zombie its new parent has not reaped yet).
bool ended(int pid) {
  auto stat = fs::path("/proc") / std::to_string(pid) / "stat";
  if (!fs::exists(stat)) return true;
  return read_file(stat).find(") Z ") != std::string::npos;
}

bool ends(int pid) {
  for (int i = 0; i < 600; ++i) {
    if (ended(pid)) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

}  // namespace

TEST_SUITE("integration") {

TEST_CASE("runs: list, show and logs a running run; cancel stops imager's group; retry resumes; logs -f ends with it") {
  LocalService s;
  s.start();
  auto empty = s.runs({"list"});
  CHECK(empty.exit_code == 0);
  CHECK(empty.out.empty());
  CHECK(empty.err.find("no runs in " + (s.state / "queue").string()) != std::string::npos);

  REQUIRE(s.deliver("created", "d-1") == 201);
  int imager = s.imager_started(1);
  REQUIRE(imager > 0);
  REQUIRE(s.reaches("running"));

  auto listed = s.runs({"list"});
  REQUIRE(listed.exit_code == 0);
  CHECK(listed.out.starts_with("NAME" + std::string(s.name.size() - 2, ' ') + "TAG      STATE    ATTEMPTS  AGE"));
  CHECK(listed.out.find(s.name + "  " + kLine.version + "  running  1") != std::string::npos);
  CHECK(listed.err.find("no sbpipe serve works the queue") == std::string::npos);  // serve runs
  auto list_json = s.runs({"list", "-o", "json"});
  check_machine_output("runs list", list_json.out);
  auto as_json = json::parse(list_json.out);
  CHECK(as_json["schemaVersion"] == 1);
  REQUIRE(as_json["runs"].size() == 1);
  CHECK(as_json["runs"][0]["state"] == "running");
  CHECK(as_json["runs"][0]["log"] == (s.state / "logs" / (s.name + ".log")).string());
  auto as_yaml = s.runs({"list", "-o", "yaml"});
  CHECK(as_yaml.out.starts_with("schemaVersion: 1\n"));  // the other keys sorted, as in the JSON
  CHECK(as_yaml.out.find("\nstateDir: " + s.state.string() + "\n") != std::string::npos);
  CHECK(as_yaml.out.find("\nruns:\n  - ") != std::string::npos);
  CHECK(as_yaml.out.find(" name: " + s.name + "\n") != std::string::npos);
  auto shown = s.runs({"show", kLine.version});  // by tag
  REQUIRE(shown.exit_code == 0);
  CHECK(shown.out.find("state          running\n") != std::string::npos);
  CHECK(shown.out.find("release        owner/talos-build " + kLine.version + " (release id 47, prerelease)") !=
        std::string::npos);
  auto log = s.runs({"logs", "@latest"});
  CHECK(log.out.starts_with("sbpipe serve: attempt 1 of " + s.name + " (" + kLine.version + "), started "));
  CHECK_MESSAGE(log.out.find("\nimager engine   ok ") != std::string::npos, log.out);  // the run's preflight table

  // Cancel: imager's shell (in the run's process group) ends, and nothing is published.
  auto cancelled = s.runs({"cancel", "@latest"});
  REQUIRE_MESSAGE(cancelled.exit_code == 0, cancelled.err);
  CHECK(cancelled.out.find(s.name + ": stopping its run: SIGTERM sent to process group ") == 0);
  REQUIRE(s.reaches("cancelled"));
  CHECK(ends(imager));
  CHECK_FALSE(fs::exists(s.pub / kLine.version / "release.json"));
  auto shown_cancelled = s.runs({"show", s.name});
  CHECK_MESSAGE(std::regex_search(shown_cancelled.out, std::regex(R"((^|\n)state +cancelled \(sbpipe runs cancel\)\n)")),
                shown_cancelled.out);
  auto again = s.runs({"cancel", s.name});
  CHECK(again.exit_code == 1);
  CHECK(again.err.find(s.name + " is cancelled: nothing to cancel") != std::string::npos);

  // Retry: queued again, serve starts it; logs -f follows it to the end.
  auto retried = s.runs({"retry", kLine.version});
  REQUIRE_MESSAGE(retried.exit_code == 0, retried.err);
  CHECK(retried.out == s.name + ": queued again (it was cancelled; attempts so far: 1)\n");
  REQUIRE(s.imager_started(2) > 0);
  write_file(s.go, "");
  auto followed = s.runs({"logs", "-f", s.name});
  REQUIRE_MESSAGE(followed.exit_code == 0, followed.err);
  CHECK(followed.out.find("sbpipe serve: attempt 2 of " + s.name) != std::string::npos);
  CHECK(followed.out.find("finalize") != std::string::npos);
  CHECK(followed.err.find(s.name + ": done") != std::string::npos);
  CHECK(s.state_of() == "done");
  CHECK_MESSAGE(fs::exists(s.pub / kLine.version / "release.json"), followed.out);
  auto show_json = s.runs({"show", s.name, "-o", "json"});
  check_machine_output("runs show", show_json.out);
  auto doc = json::parse(show_json.out);
  CHECK(doc["run"]["attempts"] == 2);
  CHECK(doc["run"]["state"] == "done");
  auto steps = doc["journalSteps"];
  CHECK(std::find(steps.begin(), steps.end(), "finalize") != steps.end());
  auto done = s.runs({"retry", s.name});
  CHECK(done.exit_code == 1);
  CHECK(done.err.find(s.name + " is done: a finished release is not built again") != std::string::npos);
  auto unknown = s.runs({"show", "v9.9.9"});
  CHECK(unknown.exit_code == 1);
  CHECK(unknown.err.find("no run 'v9.9.9' (a name, a tag or @latest; newest: " + s.name + ")") != std::string::npos);
}

TEST_CASE("serve --executor local: a damaged queue file is named, moved aside, and the service stays up and serving") {
  LocalService s;
  fs::create_directories(s.state / "queue");
  write_file(
      s.state / "queue" / (s.name + ".json"),
      json{{"name", s.name}, {"repo", kRepo}, {"tag", kLine.version}, {"release_id", kReleaseId}, {"seq", 1}, {"state", "queued"}}
          .dump());  // no "attempts": what once made the worker thread terminate
  auto listed = s.runs({"list"});
  CHECK(listed.exit_code == 0);
  CHECK(listed.err.find(s.name + ".json: attempts is missing (left in place; serve moves it to ") != std::string::npos);
  s.start();
  auto ready = run({"curl", "-s", "-w", " %{http_code}", "http://127.0.0.1:" + std::to_string(s.port) + "/readyz"});
  CHECK(ready.out == "ready\n 200");
  CHECK(fs::exists(s.state / "queue" / "damaged" / (s.name + ".json")));
  CHECK(read_file(s.dir / "serve.log").find(s.name + ".json: attempts is missing; moved to ") != std::string::npos);
  // Damaged again while it serves: still up; the release, delivered again, runs.
  write_file(s.state / "queue" / "talos-build-v9-9-9-1.json", "{\"seq\": ");
  REQUIRE(s.deliver("created", "d-2") == 201);
  REQUIRE(s.imager_started(1) > 0);
  write_file(s.go, "");
  REQUIRE(s.reaches("done"));
  CHECK(fs::exists(s.state / "queue" / "damaged" / "talos-build-v9-9-9-1.json"));
  CHECK(s.serve->wait_exit(0) == -1);  // still running
}

TEST_CASE("run: SIGTERM, and Ctrl-C to the terminal's group, stop imager, say what was stopped, and a re-run resumes") {
  for (int signal : {SIGTERM, SIGINT}) {
    CAPTURE(signal);
    LocalService s;
    fs::remove(s.imager_pids);
    std::atomic<int> pid{0};
    std::thread killer([&] {
      int imager = s.imager_started(1);
      while (pid.load() == 0) std::this_thread::yield();
      // SIGTERM to the run alone (as `kill PID` or systemd); SIGINT to its whole group (as a terminal's Ctrl-C).
      if (imager > 0) ::kill(signal == SIGINT ? -pid.load() : pid.load(), signal);
    });
    // run() starts it in a process group of its own (as a shell starts a foreground job), which
    // SIGINT reaches whole.
    auto r = run({sbpipe_binary(), "run", "--config", s.config.string(), "--tag", kLine.version},
                 model_env(kLine, {{"STANDIN_KERNEL", "random"}}), 300, [&](int p) { pid = p; });
    killer.join();
    int imager = s.imager_started(1);
    CHECK(r.exit_code == 128 + signal);
    std::string name = signal == SIGINT ? "SIGINT" : "SIGTERM";
    auto said = r.err.find("interrupted (" + name + ") during imager:");
    REQUIRE_MESSAGE(said != std::string::npos, r.err);
    CHECK(r.err.find(": stopped imager (pid " + std::to_string(imager) + "); nothing after it ran; the journal " +
                     (s.state / kLine.version / "journal.json").string() +
                     " keeps every finished step: run the same command again to resume at imager:") != std::string::npos);
    CHECK(ends(imager));  // not left running under PID 1
    CHECK_FALSE(fs::exists(s.pub / kLine.version / "release.json"));
    // The same command again resumes where it stopped.
    write_file(s.go, "");
    auto again = run({sbpipe_binary(), "run", "--config", s.config.string(), "--tag", kLine.version},
                     model_env(kLine, {{"STANDIN_KERNEL", "random"}}));
    REQUIRE_MESSAGE(again.exit_code == 0, again.err);
    CHECK(again.err.find("resuming at imager:") != std::string::npos);
    CHECK(fs::exists(s.pub / kLine.version / "release.json"));
  }
}

}  // TEST_SUITE("integration")

}  // namespace sbpipe::test

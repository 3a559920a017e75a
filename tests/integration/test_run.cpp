// sbpipe run: the whole pipeline in one process, with the stand-in imager
// (scripts/standin-imager), a real docker-registry and the GitHub stand-in.
// Crash tests kill -9 the run inside each publishing window and check that
// the re-run reaches the same final state without publishing twice.

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <signal.h>

#include <atomic>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "integration/machine_output.h"
#include "integration/push_helpers.h"
#include "support/fault_proxy.h"
#include "support/github_standin.h"
#include "support/registry_server.h"
#include "support/secureboot_fixtures.h"
#include "support/talos_model.h"
#include "webhook/signature.h"

namespace sbpipe::test {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// The imager model behind its cache (tests/support/cached_imager.py): two words of a run's
// imager_command list. The model's fidelity is judged elsewhere (ctest model,
// test_standin_imager.cpp); here every same command line need only be built once per process.
const std::string kStandin = test_support_dir() + "/cached_imager.py, " + k_model;
const std::string kRepo = "owner/talos-build";
// The crash tests run the newest line with random kernel bytes (what they
// test is publishing, not booting); the main test runs every line.
const TalosLine kNewest = model_lines().back();
// The release's assets: the ISOs, and imager's network-boot outputs under
// the names of Talos's own release assets.
const std::set<std::string> kAssets{"metal-amd64-secureboot.iso", "metal-amd64.iso",     "vmlinuz-amd64",
                                    "initramfs-amd64.xz",         "cmdline-metal-amd64", "metal-amd64-secureboot-uki.efi",
                                    "metal-amd64.ipxe",           "sha256sum.txt",       "sha512sum.txt"};
// imager's output file behind an asset name.
std::string output_of(const std::string& asset) {
  if (asset == "vmlinuz-amd64") return "kernel-amd64";
  if (asset == "initramfs-amd64.xz") return "initramfs-metal-amd64.xz";
  return asset;
}

bool is_sums(const std::string& name) { return name == "sha256sum.txt" || name == "sha512sum.txt"; }
bool is_generated(const std::string& name) { return is_sums(name) || name.ends_with(".ipxe"); }

// The iPXE script boots the published kernel and initramfs with the published cmdline (imager's own
// cmdline output), by names relative to the script.
std::string expected_ipxe(const std::string& tag, const std::string& cmdline_file) {
  std::string cmdline = cmdline_file.substr(0, cmdline_file.find_last_not_of("\n ") + 1);
  return "#!ipxe\n# Talos " + tag +
         " for amd64: the kernel, initramfs and command line published beside this script\n"
         "kernel vmlinuz-amd64 initrd=initramfs-amd64.xz " +
         cmdline + "\ninitrd initramfs-amd64.xz\nboot\n";
}

std::string file_sha256(const fs::path& path) { return sha256_hex(read_file(path)); }

struct RunFixture {
  TalosLine line;
  std::string kTag = line.version;
  bool random_kernel;
  TempDir dir;
  fs::path keys = dir / "keys";
  fs::path state = dir / "state";
  fs::path config = dir / "sbpipe.yaml";
  LocalRegistry registry;
  std::unique_ptr<FaultProxy> proxy;
  GitHubStandIn github;
  int64_t release_id = 0;

  explicit RunFixture(bool with_proxy = false, const std::string& imager_command = "", const TalosLine& l = kNewest,
                      bool random = true)
      : line(l), random_kernel(random) {
    make_owner_keys(keys);
    if (with_proxy) proxy = std::make_unique<FaultProxy>(registry.port());
    release_id = github.create_release(kRepo, kTag, true, false, "Notes from the build repository.");
    std::string command = imager_command.empty() ? "[" + kStandin + ", '{args}', --keys, '{keys}']" : imager_command;
    write_file(config,
               "imager:\n  image: ghcr.io/siderolabs/imager:{version}\n"
               "run:\n  repo: " +
                   kRepo + "\n  state_dir: " + state.string() + "\n  keys_dir: " + keys.string() +
                   "\n  imager_command: " + command + "\n  imager_output: '{out}'\n  installer_repository: " + registry_host() +
                   "/owner/installer\n  plain_http: true\n  github_api: " + github.api_url() + "\n");
  }

  std::string registry_host() const { return proxy ? "127.0.0.1:" + std::to_string(proxy->port()) : registry.host(); }
  std::string installer() const { return registry.host() + "/owner/installer:" + kTag; }

  RunResult run(const std::vector<std::string>& extra = {}, std::map<std::string, std::string> env = {},
                const std::function<void(int)>& on_start = {}) {
    std::vector<std::string> argv{sbpipe_binary(), "run", "--tag", kTag, "--config", config.string(), "--retry-delay-ms", "20"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    env.emplace("GITHUB_TOKEN", github.token());
    for (const auto& [k, v] : model_env(line, model_extra())) env.emplace(k, v);
    return sbpipe::test::run(argv, env, 300, on_start);
  }

  std::map<std::string, std::string> model_extra() const {
    return random_kernel ? std::map<std::string, std::string>{{"STANDIN_KERNEL", "random"}}
                         : std::map<std::string, std::string>{};
  }

  json journal() { return json::parse(read_file(state / kTag / "journal.json"))["steps"]; }

  fs::path local_file(const std::string& asset) { return state / kTag / "out" / output_of(asset); }

  // The state every successful run ends in, crashed on the way or not.
  void check_final_state() {
    auto steps = journal();
    for (const char* step : {"plan", "imager:secureboot-installer-amd64", "imager:secureboot-iso-amd64", "imager:iso-amd64",
                             "imager:pxe-kernel-amd64", "imager:pxe-initramfs-amd64", "imager:pxe-cmdline-amd64",
                             "imager:pxe-uki-amd64", "verify", "push-installer", "upload-assets", "finalize"})
      CHECK_MESSAGE(steps.contains(step), step);
    std::string digest = steps["push-installer"]["digest"];
    // The registry holds the tag at the journal's digest; skopeo reads it.
    auto inspected = run_ok({"skopeo", "inspect", "--tls-verify=false", "docker://" + installer()});
    CHECK(json::parse(inspected)["Digest"] == digest);
    auto manifest = json::parse(skopeo_raw(installer()));
    CHECK(manifest["annotations"]["org.opencontainers.image.version"] == kTag);
    // Exactly the expected assets, each the local file's content.
    auto release = github.release(release_id);
    std::set<std::string> names;
    for (const auto& a : release.assets) {
      names.insert(a.name);
      CHECK(a.state == "uploaded");
      if (!is_generated(a.name)) CHECK_MESSAGE(a.sha256 == file_sha256(local_file(a.name)), a.name);
    }
    CHECK(names == kAssets);
    CHECK(github.content(*github.asset(release_id, "metal-amd64.ipxe")) ==
          expected_ipxe(kTag, read_file(local_file("cmdline-metal-amd64"))));
    std::string sums = github.content(*github.asset(release_id, "sha256sum.txt"));
    std::string sums512 = github.content(*github.asset(release_id, "sha512sum.txt"));
    for (const auto& name : kAssets) {
      if (is_sums(name)) continue;
      std::string content =
          name.ends_with(".ipxe") ? github.content(*github.asset(release_id, name)) : read_file(local_file(name));
      CHECK(sums.find(sha256_hex(content) + "  " + name + "\n") != std::string::npos);
      CHECK(sums512.find(name + "\n") != std::string::npos);
    }
    // Finalized once, with the notes kept and the build section added.
    CHECK_FALSE(release.prerelease);
    CHECK(release.body.find("Notes from the build repository.") == 0);
    CHECK_MESSAGE(release.body.find("- Installer: `" + registry_host() + "/owner/installer:" + kTag + "@" + digest + "`") !=
                      std::string::npos,
                  release.body);
    CHECK_MESSAGE(release.body.find("talosctl upgrade --image " + registry_host() + "/owner/installer@" + digest + "`") !=
                      std::string::npos,
                  release.body);
    CHECK(github.latest(kRepo) == release_id);
  }

  // The re-run after a crash: it must succeed and reach the final state, and
  // over both runs (`before` is the crashed run's request log) every asset
  // must have been uploaded completely exactly once. Returns the re-run's
  // requests.
  std::vector<std::string> resume_after_crash(std::vector<std::string> before);

  static std::string run_ok(const std::vector<std::string>& argv) {
    auto r = sbpipe::test::run(argv);
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    return r.out;
  }
};

// kill -9 of the run whose pid `pid` will hold, from a stand-in's hook; the
// pause lets it die before it could read an answer.
void kill_run(const std::atomic<int>& pid) {
  while (pid.load() == 0) std::this_thread::yield();
  ::kill(pid.load(), SIGKILL);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
}

bool has_line(const std::vector<std::string>& lines, const std::string& line) {
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

int count_prefix(const std::vector<std::string>& lines, const std::string& prefix) {
  return static_cast<int>(
      std::count_if(lines.begin(), lines.end(), [&](const std::string& l) { return l.rfind(prefix, 0) == 0; }));
}

// Uploads that completed per name, over a request log: every "POST upload
// NAME" minus those the stand-in noted as broken off or answered 502.
std::map<std::string, int> completed_uploads(const std::vector<std::string>& lines) {
  std::map<std::string, int> done;
  for (const auto& line : lines) {
    if (line.rfind("POST upload ", 0) == 0) ++done[line.substr(12)];
    if (line.rfind("(upload ", 0) == 0) --done[line.substr(8, line.find(' ', 8) - 8)];
  }
  return done;
}

std::vector<std::string> RunFixture::resume_after_crash(std::vector<std::string> before) {
  github.clear_requests();
  auto resumed = run();
  REQUIRE_MESSAGE(resumed.exit_code == 0, resumed.err);
  auto after = github.requests();
  check_final_state();
  before.insert(before.end(), after.begin(), after.end());
  for (const auto& [name, n] : completed_uploads(before)) CHECK_MESSAGE(n == 1, name);
  return after;
}

// The receiver's run name: talos-build-<tag with dots as dashes>-<release id>.
std::string workflow_name(const RunFixture& f) {
  std::string tag = f.kTag;
  std::replace(tag.begin(), tag.end(), '.', '-');
  return "talos-build-" + tag + "-" + std::to_string(f.release_id);
}

// `sbpipe serve --executor local` over a RunFixture's config.
struct LocalReceiver {
  RunFixture& f;
  int port = free_port();
  std::string secret = "local-webhook-secret-42";
  std::unique_ptr<Process> process;

  explicit LocalReceiver(RunFixture& fixture) : f(fixture) {
    write_file(f.dir / "secret", secret + "\n");
    start();
  }
  void start() {
    process = std::make_unique<Process>(
        std::vector<std::string>{sbpipe_binary(), "serve", "--executor", "local", "--config", f.config.string(), "--listen",
                                 "127.0.0.1:" + std::to_string(port), "--webhook-secret-file", (f.dir / "secret").string(),
                                 "--allow-repo", kRepo},
        f.dir / "serve.log", [&] {
          auto env = model_env(f.line, f.model_extra());
          env.emplace("GITHUB_TOKEN", f.github.token());
          return env;
        }());
    wait_for_port(port);
  }
  int deliver(const std::string& action, const std::string& delivery) {
    return deliver(action, delivery, f.kTag, f.release_id, false);
  }
  int deliver(const std::string& action, const std::string& delivery, const std::string& tag, int64_t id, bool draft) {
    std::string body = json{{"action", action},
                            {"release", {{"id", id}, {"tag_name", tag}, {"prerelease", true}, {"draft", draft}}},
                            {"repository", {{"full_name", kRepo}}}}
                           .dump();
    auto r = sbpipe::test::run({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "X-GitHub-Event: release", "-H",
                                "X-GitHub-Delivery: " + delivery, "-H", "X-Hub-Signature-256: " + webhook_signature(secret, body),
                                "-H", "Content-Type: application/json", "--data-binary", body,
                                "http://127.0.0.1:" + std::to_string(port) + "/webhook"});
    return std::stoi(r.out);
  }
  fs::path entry() const { return f.state / "queue" / (workflow_name(f) + ".json"); }
  fs::path entry_of(const std::string& dashed_tag, int64_t id) const {
    return f.state / "queue" / ("talos-build-" + dashed_tag + "-" + std::to_string(id) + ".json");
  }
  std::string state() const { return state_of(entry()); }
  static std::string state_of(const fs::path& entry) {
    return fs::exists(entry) ? json::parse(read_file(entry)).value("state", "") : "";
  }
  bool wait_for(const std::string& wanted, int seconds = 120) { return wait_for(entry(), wanted, seconds); }
  bool wait_for(const fs::path& entry, const std::string& wanted, int seconds = 120) {
    for (int i = 0; i < seconds * 20; ++i) {
      if (state_of(entry) == wanted) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  // Until the running entry's log shows `text` (the run has passed its preflight and started imager, say).
  bool wait_for_log(const std::string& text, int seconds = 60) {
    auto log = f.state / "logs" / (workflow_name(f) + ".log");
    for (int i = 0; i < seconds * 20; ++i) {
      if (fs::exists(log) && read_file(log).find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
};

}  // namespace

TEST_SUITE("integration") {

TEST_CASE("run: plan, imager, verify, push, pxe, upload and finalize in one process; a re-run sends nothing") {
  const TalosLine* line = nullptr;
  for (const auto& l : model_lines()) SUBCASE(("Talos " + l.line).c_str()) line = &l;
  REQUIRE(line != nullptr);
  RunFixture f(false, "", *line, false);
  auto r = f.run();
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  f.check_final_state();
  auto first = f.github.requests();
  CHECK(count_prefix(first, "POST upload ") == 9);  // the 7 assets of the plan and the two listings
  CHECK(count_prefix(first, "PATCH release") == 1);
  CHECK(count_prefix(first, "DELETE") == 0);
  CHECK(r.out.find("installer  " + f.registry_host() + "/owner/installer:" + f.kTag + "@sha256:") != std::string::npos);
  CHECK(r.out.find("release    ") != std::string::npos);
  CHECK(r.err.find("verify: ") != std::string::npos);
  CHECK(r.err.find(f.github.token()) == std::string::npos);

  f.github.clear_requests();
  auto again = f.run();
  REQUIRE_MESSAGE(again.exit_code == 0, again.err);
  CHECK(f.github.requests().empty());
  // As terraform's "No changes": one line in the log, one result, no table of steps that did nothing.
  CHECK_MESSAGE(again.err.find("nothing to do: every step was done in an earlier run (plan, imager:") != std::string::npos,
                again.err);
  CHECK(again.err.find(": done in an earlier run") == std::string::npos);  // no line per step
  CHECK(again.out.starts_with("nothing to do: " + f.kTag + " was built and published by an earlier run\ninstaller  " +
                              f.registry_host() + "/owner/installer:" + f.kTag + "@sha256:"));
  CHECK(again.out.find("\nfinalize ") == std::string::npos);
  CHECK(r.out.starts_with("CHECK           RESULT  DETAIL\n"));  // the preflight, before imager
  CHECK(again.out.find("CHECK ") == std::string::npos);          // verified already: no preflight
  f.check_final_state();
  auto as_json = f.run({"-o", "json"});
  REQUIRE_MESSAGE(as_json.exit_code == 0, as_json.err);
  check_machine_output("run", as_json.out);
  auto doc = nlohmann::json::parse(as_json.out);
  CHECK(doc["installer"] == doc["steps"]["push-installer"]["ref"]);
  // The talosctl argument: the same installer by digest only (tests/node judges it against containerd).
  CHECK(doc["upgrade"] == f.registry_host() + "/owner/installer@" + doc["steps"]["push-installer"]["digest"].get<std::string>());
  CHECK(as_json.out.find('\n') == as_json.out.size() - 1);  // JSON only on stdout: one line
  CHECK(again.out.find("\nupgrade    talosctl upgrade --image " + doc["upgrade"].get<std::string>() + "\n") != std::string::npos);
  CHECK(doc["assets"].size() == doc["steps"]["upload-assets"]["assets"].size());
  CHECK(doc["release"].is_string());
}

TEST_CASE("run: an unsigned or wrongly signed UKI stops the run at verify; nothing is published") {
  for (const std::string sign : {"none", "wrong"}) {
    CAPTURE(sign);
    RunFixture f;
    auto r = f.run({}, {{"STANDIN_SIGN", sign}});
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("EFI binaries failed verification") != std::string::npos);
    CHECK(r.err.find("nothing was published") != std::string::npos);
    CHECK(count_prefix(f.github.requests(), "POST upload ") == 0);
    CHECK(count_prefix(f.github.requests(), "PATCH") == 0);
    CHECK(manifest_status(f.registry.host(), "owner/installer", f.kTag) == "404");
    CHECK(f.github.release(f.release_id).prerelease);
    CHECK_FALSE(f.journal().contains("verify"));
    // The same files fail again on a plain re-run; --restart builds anew.
    CHECK(f.run().exit_code == 1);
    auto fixed = f.run({"--restart"});
    REQUIRE_MESSAGE(fixed.exit_code == 0, fixed.err);
    f.check_final_state();
  }
}

TEST_CASE("run: a second run of the same version is refused while one runs; --wait waits and finds it done") {
  TempDir probe;
  RunFixture f(false, "[sh, -c, 'env > " + (probe / "imager-env").string() + "; sleep 1; exec \"$0\" \"$@\"', " + kStandin +
                          ", '{args}', --keys, '{keys}']");
  auto first = std::async(std::launch::async, [&] { return f.run(); });
  for (int i = 0; i < 200 && !(fs::exists(f.state / f.kTag / "lock") && fs::file_size(f.state / f.kTag / "lock") > 0); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  auto refused = f.run();
  CHECK(refused.exit_code == 1);
  // Said by the preflight's lock row (stdout), before anything else is checked.
  CHECK_MESSAGE(
      (refused.out + refused.err).find("version " + f.kTag + " is being run by another process (pid ") != std::string::npos,
      refused.out << refused.err);
  auto waited = f.run({"--wait"});
  auto done = first.get();
  REQUIRE_MESSAGE(done.exit_code == 0, done.err);
  REQUIRE_MESSAGE(waited.exit_code == 0, waited.err);
  CHECK(waited.err.find("nothing to do: every step was done in an earlier run (") != std::string::npos);
  CHECK(count_prefix(f.github.requests(), "PATCH release") == 1);
  f.check_final_state();
  // imager's environment: the run's own, without the secrets sbpipe reads.
  auto env = read_file(probe / "imager-env");
  CHECK(env.find("STANDIN_VERSION=" + f.kTag) != std::string::npos);
  CHECK(env.find("GITHUB_TOKEN") == std::string::npos);
  CHECK(env.find(f.github.token()) == std::string::npos);
}

TEST_CASE("run: killed during the push, the re-run pushes again and the tag appears only once complete") {
  RunFixture f(true);
  std::atomic<int> pid{0};
  FaultRule rule;
  rule.method = "PUT";  // a blob upload (monolithic PUT after the POST), before any manifest
  rule.path_contains = "/blobs/uploads/";
  rule.action = FaultRule::Action::forward;
  rule.on_match = [&] { kill_run(pid); };
  f.proxy->add_rule(rule);
  auto crashed = f.run({}, {}, [&](int p) { pid = p; });
  CHECK(crashed.exit_code == 128 + SIGKILL);
  CHECK(manifest_status(f.registry.host(), "owner/installer", f.kTag) == "404");  // no tag on a half-pushed image
  CHECK(count_prefix(f.github.requests(), "POST upload ") == 0);
  CHECK_FALSE(f.journal().contains("push-installer"));

  auto resumed = f.run();
  REQUIRE_MESSAGE(resumed.exit_code == 0, resumed.err);
  auto resuming = resumed.err.find("resuming at push-installer: ");
  REQUIRE_MESSAGE(resuming != std::string::npos, resumed.err);
  CHECK(resumed.err.substr(resuming, resumed.err.find('\n', resuming) - resuming).find("imager:secureboot-installer-amd64") !=
        std::string::npos);
  f.check_final_state();
  for (const auto& [name, n] : completed_uploads(f.github.requests())) CHECK_MESSAGE(n == 1, name);
}

TEST_CASE("run: killed during an upload, the re-run deletes the broken asset, uploads it once and keeps the rest") {
  RunFixture f;
  std::atomic<int> pid{0};
  f.github.with_faults([&](StandInFaults& faults) {
    faults.during_upload = [&](const std::string& name) {
      if (name != "metal-amd64.iso") return false;
      kill_run(pid);
      return true;
    };
  });
  auto crashed = f.run({}, {}, [&](int p) { pid = p; });
  CHECK(crashed.exit_code == 128 + SIGKILL);
  f.github.with_faults([](StandInFaults& faults) { faults.during_upload = nullptr; });
  const std::string broken = "(upload metal-amd64.iso broken off, left in state open)";
  for (int i = 0; i < 250 && !has_line(f.github.requests(), broken); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(has_line(f.github.requests(), broken));
  CHECK(f.github.asset(f.release_id, "metal-amd64.iso")->state == "open");
  CHECK(f.github.release(f.release_id).prerelease);
  auto before = f.github.requests();

  auto after = f.resume_after_crash(before);
  CHECK(count_prefix(after, "DELETE asset metal-amd64.iso") == 1);
  CHECK(count_prefix(after, "POST upload metal-amd64.iso") == 1);
  CHECK(count_prefix(after, "POST upload metal-amd64-secureboot.iso") == 0);  // complete before the crash: kept
}

// The window between the last upload and finalize (and every other one between two calls to
// GitHub or the registry) is crashed in process, at every call, by tests/unit/test_runner.cpp
// ("crashed at any call"); the kill -9 cases here keep what only a process shows.

TEST_CASE("run: provenance from --source: the tag's commit in the annotations and the notes; a missing tag is refused") {
  RunFixture f;
  fs::path src = f.dir / "build-repo";
  fs::create_directories(src);
  auto git = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"git", "-C", src.string(), "-c", "user.name=t", "-c", "user.email=t@example.invalid"});
    return must_run(args);
  };
  git({"init", "-q"});
  write_file(src / "README", "build repo\n");
  git({"add", "README"});
  git({"commit", "-qm", "first"});
  git({"remote", "add", "origin", "https://x-access-token:ghs_secret123@github.com/owner/talos-build.git"});
  auto missing = f.run({"--source", src.string()});
  CHECK(missing.exit_code == 1);
  // Refused by the preflight's source row, before imager (its detail on stdout, the count on stderr).
  CHECK_MESSAGE(missing.out.find("tag " + f.kTag + " does not exist in the repository") != std::string::npos, missing.out);
  CHECK(missing.err.find("check(s) failed (source); imager was not started") != std::string::npos);
  CHECK(count_prefix(f.github.requests(), "POST") == 0);

  git({"tag", "-a", f.kTag, "-m", "release"});
  std::string commit = git({"rev-parse", f.kTag + "^{commit}"});
  commit.erase(commit.find_last_not_of("\n") + 1);
  write_file(src / "README", "changed after the tag\n");
  auto r = f.run({"--source", src.string(), "--restart"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.err.find("the work tree differs from tag " + f.kTag + " (1 tracked file(s) changed since the tag)") !=
        std::string::npos);
  auto manifest = json::parse(skopeo_raw(f.installer()));
  CHECK(manifest["annotations"]["org.opencontainers.image.revision"] == commit);
  CHECK(manifest["annotations"]["org.opencontainers.image.source"] == "https://github.com/owner/talos-build");
  auto body = f.github.release(f.release_id).body;
  CHECK(body.find("Source: https://github.com/owner/talos-build commit `" + commit + "`") != std::string::npos);
  CHECK(body.find("ghs_secret123") == std::string::npos);
  CHECK(r.err.find("ghs_secret123") == std::string::npos);
  f.check_final_state();
}

TEST_CASE("run: the dir: target publishes files, sha256sum.txt, sha512sum.txt and release.json marked released") {
  RunFixture f;
  fs::path pub = f.dir / "pub";
  auto r = f.run({"--target", "dir:" + pub.string()});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(f.github.requests().empty());  // no GitHub at all
  auto sums = sbpipe::test::run(
      {"sh", "-c", "cd '" + (pub / f.kTag).string() + "' && sha256sum -c sha256sum.txt && sha512sum -c sha512sum.txt"});
  CHECK_MESSAGE(sums.exit_code == 0, sums.out << sums.err);
  auto release = json::parse(read_file(pub / f.kTag / "release.json"));
  CHECK(release["prerelease"] == false);
  CHECK(release["repository"] == kRepo);
  CHECK(release["installer"].get<std::string>().find(f.registry_host() + "/owner/installer:" + f.kTag + "@sha256:") == 0);
  for (const auto& name : kAssets) CHECK(fs::exists(pub / f.kTag / name));

  // The Argo template's publish step is `upload-assets --plan PLAN --out DIR` over the plan its
  // plan step saved and imager's outputs (tests/manifests/check_flow.py checks the template says
  // so): given this run's plan and outputs, it publishes exactly what run published.
  auto journal = json::parse(read_file(f.state / f.kTag / "journal.json"));
  write_file(f.dir / "plan.json", journal["steps"]["plan"]["plan"].dump());
  fs::path argo = f.dir / "argo";
  auto step = sbpipe({"upload-assets", "--plan", (f.dir / "plan.json").string(), "--out", (f.state / f.kTag / "out").string(),
                      "--tag", f.kTag, "--target", "dir:" + argo.string()});
  REQUIRE_MESSAGE(step.exit_code == 0, step.err);
  std::map<std::string, std::string> by_run, by_step;
  for (const auto& e : fs::directory_iterator(pub / f.kTag))
    if (e.path().filename() != "release.json") by_run[e.path().filename()] = sha256_hex(read_file(e.path()));
  for (const auto& e : fs::directory_iterator(argo / f.kTag))
    if (e.path().filename() != "release.json") by_step[e.path().filename()] = sha256_hex(read_file(e.path()));
  CHECK(by_step == by_run);
  CHECK(by_run.size() == kAssets.size());
  // Its verify step, `verify --plan PLAN --out DIR`, checks the plan's files and, by default, the
  // plan's version in every UKI, as run's gate did.
  auto gate = sbpipe({"verify", "--plan", (f.dir / "plan.json").string(), "--out", (f.state / f.kTag / "out").string(), "--cert",
                      (f.keys / "uki-signing-cert.pem").string(), "--pcr-pubkey", (f.keys / "pcr-signing-key.pub.pem").string(),
                      "-o", "json"});
  REQUIRE_MESSAGE(gate.exit_code == 0, gate.out << gate.err);
  bool version_checked = false;
  const json verdicts = json::parse(gate.out);
  for (const auto& b : verdicts["binaries"])
    if (b["role"] == "version") version_checked = b["ok"] == true && b["reason"].get<std::string>().ends_with(" names " + f.kTag);
  CHECK_MESSAGE(version_checked, gate.out);
}

TEST_CASE(
    "run: run.sign_key: the installer carries a signature Talos's lookup finds; every release file a bundle sigstore-js "
    "verifies") {
  RunFixture f;
  const fs::path key = f.dir / "image-signing-key.pem", pub_key = f.dir / "image-signing-key.pub.pem";
  // Made by the openssl command line, not by the code under test.
  must_run({"openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key.string()});
  must_run({"openssl", "ec", "-in", key.string(), "-pubout", "-out", pub_key.string()});
  write_file(f.config, read_file(f.config) + "  sign_key: " + key.string() + "\n");
  fs::path pub = f.dir / "pub";
  auto r = f.run({"--target", "dir:" + pub.string()});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out.find(key.string() + ": public key ") != std::string::npos);  // the preflight's signing key row
  // The judges: sigstore-js for each file's bundle (tests/signatures/js, from npm), and the model of
  // a Talos node's lookup (tests/signatures/talos_lookup.py, from Talos's source) for the installer.
  const std::string js = source_dir() + "/tests/signatures/js/verify_bundle.js";
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(pub / f.kTag)) {
    const std::string name = e.path().filename().string();
    if (name == "release.json" || name.ends_with(".sigstore.json")) continue;
    ++files;
    auto judged = sbpipe::test::run({"node", js, pub_key.string(), e.path().string() + ".sigstore.json", e.path().string()});
    CHECK_MESSAGE(judged.exit_code == 0, name << ": " << judged.out << judged.err);
  }
  CHECK(files == kAssets.size());  // the checksum listings among them
  auto release = json::parse(read_file(pub / f.kTag / "release.json"));
  const std::string installer = release["installer"].get<std::string>();
  const std::string digest = installer.substr(installer.find("@") + 1);
  auto lookup = sbpipe::test::run({"python3", "-c",
                                   "import sys; sys.path.insert(0, sys.argv[1]); import talos_lookup as t; "
                                   "ok, how = t.verify_image(t.Registry('http://' + sys.argv[2], 'owner/installer'), "
                                   "sys.argv[3], open(sys.argv[4], 'rb').read()); "
                                   "print(how); sys.exit(0 if ok else 1)",
                                   source_dir() + "/tests/signatures", f.registry.host(), digest, pub_key.string()});
  CHECK_MESSAGE(lookup.exit_code == 0, lookup.out << lookup.err);
  CHECK(read_file(pub / f.kTag / "release.json").find("ImageVerificationConfig") != std::string::npos);
}

TEST_CASE("run: an output replaced after verify is not published by a re-run") {
  RunFixture f(true);
  // Stop after verify: the registry refuses every blob's bytes (the
  // preflight's upload, opened and cancelled, and the continuity look at
  // its tags before that still work).
  FaultRule refuse;
  refuse.method = "PUT";
  refuse.path_contains = "/blobs/uploads/";
  refuse.status = 400;
  refuse.times = -1;
  f.proxy->add_rule(refuse);
  auto r = f.run({"--retries", "1"});
  CHECK(r.exit_code != 0);
  REQUIRE(f.journal().contains("verify"));
  CHECK_FALSE(f.journal().contains("push-installer"));
  // Someone swaps the verified ISO for an unsigned one.
  auto iso = f.state / f.kTag / "out" / "metal-amd64-secureboot.iso";
  std::string bytes = read_file(iso);
  bytes[bytes.size() / 2] ^= 0x01;
  write_file(iso, bytes);
  f.proxy->clear_rules();
  f.github.clear_requests();
  auto again = f.run();
  CHECK(again.exit_code == 1);
  CHECK(again.err.find("metal-amd64-secureboot.iso is missing or changed since imager wrote it and verify checked it") !=
        std::string::npos);
  CHECK(count_prefix(f.github.requests(), "POST upload ") == 0);
  CHECK(manifest_status(f.registry.host(), "owner/installer", f.kTag) == "404");
  // --restart builds again: the unsigned-UKI case above runs that path to a published release.
}

// A second version run in the same state directory, registry and GitHub
// repository as the fixture's first, with the keys in `keys`.
RunResult run_next(RunFixture& f, const std::string& tag, const fs::path& keys, std::vector<std::string> extra = {}) {
  std::string config = read_file(f.config);
  config.replace(config.find("keys_dir: " + f.keys.string()), 10 + f.keys.string().size(), "keys_dir: " + keys.string());
  write_file(f.dir / (tag + ".yaml"), config);
  std::vector<std::string> argv{sbpipe_binary(),    "run", "--tag", tag, "--config", (f.dir / (tag + ".yaml")).string(),
                                "--retry-delay-ms", "20"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto env = model_env(TalosLine{f.line.line, tag}, f.model_extra());
  env.emplace("GITHUB_TOKEN", f.github.token());
  return sbpipe::test::run(argv, env, 300);
}

TEST_CASE(
    "run: a build whose PCR key or UKI signer differs from the previous release's is refused; --allow-key-rotation publishes "
    "it") {
  RunFixture f;
  auto first = f.run();
  REQUIRE_MESSAGE(first.exit_code == 0, first.err);
  CHECK(first.err.find("continuity: no earlier release in " + f.registry_host() + "/owner/installer (first release)") !=
        std::string::npos);
  // The next patch releases of the fixture's line (v1.14.0 -> v1.14.1, ...).
  auto patch = [&](int n) { return f.kTag.substr(0, f.kTag.rfind('.')) + "." + std::to_string(n); };

  // One sequence, not subcases (doctest runs a case again from the top for each subcase, and
  // the first release above is a whole pipeline): each next version is compared with the highest
  // release below it.
  // The same keys: continuous.
  f.github.create_release(kRepo, patch(1), true, false, "next");
  auto next = run_next(f, patch(1), f.keys);
  REQUIRE_MESSAGE(next.exit_code == 0, next.err);
  CHECK(next.err.find("continuity: same PCR key and UKI signer as " + f.registry_host() + "/owner/installer:" + f.kTag +
                      "@sha256:") != std::string::npos);

  // A rotated PCR key: refused by the preflight (imager never starts: the dry run says the same),
  // nothing published; --allow-key-rotation publishes it with a notice.
  fs::path rotated = f.dir / "rotated";
  fs::create_directories(rotated);
  for (const char* name : {"uki-signing-key.pem", "uki-signing-cert.pem"}) fs::copy_file(f.keys / name, rotated / name);
  must_run({"openssl", "genrsa", "-traditional", "-out", (rotated / "pcr-signing-key.pem").string(), "2048"});
  must_run({"openssl", "rsa", "-in", (rotated / "pcr-signing-key.pem").string(), "-pubout", "-out",
            (rotated / "pcr-signing-key.pub.pem").string()});
  int64_t id = f.github.create_release(kRepo, patch(2), true, false, "next");
  f.github.clear_requests();
  auto dry = run_next(f, patch(2), rotated, {"--dry-run"});
  CHECK(dry.exit_code == 1);
  auto refused = run_next(f, patch(2), rotated);
  CHECK(refused.exit_code == 1);
  for (const auto* r : {&dry, &refused}) {
    auto row = r->out.find("\ncontinuity      FAIL    amd64: the PCR signing key changed (");
    REQUIRE_MESSAGE(row != std::string::npos, r->out);
    std::string line = r->out.substr(row + 1, r->out.find('\n', row + 1) - row - 1);
    CHECK(line.find(" in " + f.registry_host() + "/owner/installer:" + patch(1) + "@sha256:") != std::string::npos);
    CHECK(line.find("nodes whose disks are sealed to the previous key cannot unseal STATE and EPHEMERAL after upgrading; "
                    "if the change is intended") != std::string::npos);
    CHECK(r->err.find("preflight: 1 check(s) failed (continuity); imager was not started") != std::string::npos);
  }
  CHECK_FALSE(fs::exists(f.state / patch(2) / "out"));  // nothing was built
  CHECK(count_prefix(f.github.requests(), "POST upload ") == 0);
  CHECK(manifest_status(f.registry.host(), "owner/installer", patch(2)) == "404");
  auto allowed = run_next(f, patch(2), rotated, {"--allow-key-rotation"});
  REQUIRE_MESSAGE(allowed.exit_code == 0, allowed.err);
  CHECK(f.github.release(id).body.find("**Before upgrading:** key rotation (allowed with --allow-key-rotation): amd64: the PCR "
                                       "signing key changed") != std::string::npos);

  // A new UKI signing certificate (with the rotated PCR key, now the previous release's).
  fs::path newcert = f.dir / "newcert";
  make_owner_keys(newcert, "New Owner UKI");
  fs::copy_file(rotated / "pcr-signing-key.pem", newcert / "pcr-signing-key.pem", fs::copy_options::overwrite_existing);
  fs::copy_file(rotated / "pcr-signing-key.pub.pem", newcert / "pcr-signing-key.pub.pem", fs::copy_options::overwrite_existing);
  f.github.create_release(kRepo, patch(3), true, false, "next");
  auto cert_refused = run_next(f, patch(3), newcert);
  CHECK(cert_refused.exit_code == 1);
  CHECK(cert_refused.out.find("amd64: the UKI signing certificate changed (/O=Owner UKI in ") != std::string::npos);
  CHECK(cert_refused.out.find(", /O=New Owner UKI now)") != std::string::npos);  // both named alike
  CHECK(cert_refused.out.find("PCR 7 changes, so nodes sealed to it cannot unseal their disks") != std::string::npos);
  CHECK(cert_refused.out.find("the PCR signing key changed") == std::string::npos);
}

TEST_CASE("run: without the PCR public key nodes are sealed to, nothing is built") {
  RunFixture f;
  fs::remove(f.keys / "pcr-signing-key.pub.pem");
  auto r = f.run();
  CHECK(r.exit_code == 1);  // the preflight's row, then its summary
  CHECK(r.out.find("pcr public key  FAIL    run.keys_dir: " + (f.keys / "pcr-signing-key.pub.pem").string() +
                   ": missing; verify checks every UKI against the PCR public key your nodes are sealed to, and never reads the "
                   "private key: write it once with `sbpipe keys check " +
                   f.keys.string() + " --write-public " + f.keys.string() + "`, or set run.pcr_public_key\n") !=
        std::string::npos);
  CHECK(r.err.ends_with("preflight: 1 check(s) failed (pcr public key); imager was not started\n"));
  CHECK_FALSE(fs::exists(f.state / f.kTag / "out"));  // imager never ran
  for (const auto& request : f.github.requests())
    CHECK_MESSAGE(request.rfind("GET ", 0) == 0, request);  // looked, changed nothing
}

TEST_CASE("run: configuration mistakes are refused before anything runs") {
  RunFixture f;
  write_file(f.dir / "bad.yaml", "run:\n  imager_command: docker run {image} --out {output}\n");
  auto bad = sbpipe({"run", "--tag", f.kTag, "--config", (f.dir / "bad.yaml").string(), "--target", "dir:/tmp/x"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("unknown placeholder {output}") != std::string::npos);
  auto no_token = sbpipe({"run", "--tag", f.kTag, "--config", f.config.string()}, {{"GITHUB_TOKEN", ""}, {"GH_TOKEN", ""}});
  CHECK(no_token.exit_code == 1);  // a preflight row (tests/integration/test_run_preflight.cpp)
  CHECK(no_token.out.find("publish access  FAIL    no GitHub token") != std::string::npos);
  CHECK_FALSE(fs::exists(f.state / f.kTag));
  // A changed imager configuration does not mix into a run that began with another (its plan is
  // journaled before imager runs; the refusal's every case is tests/unit/test_runner.cpp's).
  auto first = f.run({}, {{"STANDIN_SIGN", "none"}});
  CHECK(first.exit_code == 1);  // stopped at verify, the plan journaled
  write_file(f.config, read_file(f.config) + "\n");
  std::string text = read_file(f.config);
  text.replace(text.find("imager:\n"), 8, "imager:\n  extra_kernel_args: [talos.dashboard.disabled=1]\n");
  write_file(f.config, text);
  auto changed = f.run();
  CHECK(changed.exit_code == 2);
  CHECK(changed.err.find("the imager configuration changed since this run began; run with --restart") != std::string::npos);
}

TEST_CASE("serve --executor local: a signed pre-release delivery is queued before 201 and runs once") {
  RunFixture f;
  LocalReceiver rx(f);
  CHECK(rx.deliver("created", "d-1") == 201);
  CHECK(fs::exists(rx.entry()));  // on disk when the answer came
  CHECK(rx.deliver("prereleased", "d-2") == 200);
  CHECK(rx.deliver("published", "d-3") == 200);
  REQUIRE_MESSAGE(rx.wait_for("done"), read_file(f.dir / "serve.log"));
  CHECK(rx.deliver("published", "d-3") == 200);  // a redelivery of a finished release starts nothing
  f.check_final_state();
  CHECK(count_prefix(f.github.requests(), "PATCH release") == 1);
  auto log = read_file(f.dir / "serve.log");
  CHECK(log.find("outcome=created status=201") != std::string::npos);
  CHECK(log.find(rx.secret) == std::string::npos);
  CHECK(log.find(f.github.token()) == std::string::npos);
  auto run_log = read_file(f.state / "logs" / (workflow_name(f) + ".log"));
  CHECK(run_log.find("finalize: done") != std::string::npos);
  CHECK(run_log.find(f.github.token()) == std::string::npos);
  rx.process->stop();
}

TEST_CASE("serve --executor local: killed -9 while a run is going, the restarted receiver finishes it once") {
  RunFixture f(false, "[sh, -c, 'sleep 2; exec \"$0\" \"$@\"', " + kStandin + ", '{args}', --keys, '{keys}']");
  LocalReceiver rx(f);
  CHECK(rx.deliver("created", "d-1") == 201);
  REQUIRE(rx.wait_for("running", 20));
  ::kill(rx.process->pid(), SIGKILL);
  CHECK(rx.process->wait_exit(10000) == 128 + SIGKILL);
  CHECK(rx.state() == "running");  // as the crash left it
  rx.start();
  // The orphaned run (its own process group) and the re-queued one never
  // overlap: the second waits for the version's lock.
  REQUIRE_MESSAGE(rx.wait_for("done"), read_file(f.dir / "serve.log"));
  CHECK(json::parse(read_file(rx.entry()))["attempts"] == 2);
  f.check_final_state();
  CHECK(count_prefix(f.github.requests(), "PATCH release") == 1);
  for (const auto& [name, n] : completed_uploads(f.github.requests())) CHECK_MESSAGE(n == 1, name);
  rx.process->stop();
}

TEST_CASE("serve --executor local: unpublished while queued and while running: nothing is published, and the run says why") {
  RunFixture f(false, "[sh, -c, 'sleep 3; exec \"$0\" \"$@\"', " + kStandin + ", '{args}', --keys, '{keys}']");
  int64_t second = f.github.create_release(kRepo, "v1.9.1");
  LocalReceiver rx(f);
  CHECK(rx.deliver("created", "d-1") == 201);
  REQUIRE(rx.wait_for("running", 20));
  CHECK(rx.deliver("created", "d-2", "v1.9.1", second, false) == 201);
  auto queued = rx.entry_of("v1-9-1", second);
  CHECK(LocalReceiver::state_of(queued) == "queued");

  // The owner unpublishes both: the queued one never runs, the running one is stopped (inside
  // imager's 3 s, after the preflight, which would refuse a draft itself).
  REQUIRE(rx.wait_for_log("running imager", 60));
  f.github.set_draft(second, true);
  CHECK(rx.deliver("unpublished", "d-3", "v1.9.1", second, true) == 200);
  CHECK(LocalReceiver::state_of(queued) == "withdrawn");
  f.github.set_draft(f.release_id, true);
  CHECK(rx.deliver("unpublished", "d-4", f.kTag, f.release_id, true) == 200);
  REQUIRE_MESSAGE(rx.wait_for("withdrawn", 30), read_file(f.dir / "serve.log"));
  CHECK(rx.deliver("unpublished", "d-5", f.kTag, f.release_id, true) == 202);  // nothing left to stop

  CHECK(count_prefix(f.github.requests(), "POST upload ") == 0);
  CHECK(count_prefix(f.github.requests(), "PATCH") == 0);
  CHECK(manifest_status(f.registry.host(), "owner/installer", f.kTag) == "404");
  CHECK(f.github.release(f.release_id).draft);
  auto run_log = read_file(f.state / "logs" / (workflow_name(f) + ".log"));
  CHECK(run_log.find("sbpipe serve: the release was unpublished (delivery d-4); the run was stopped before publishing more") !=
        std::string::npos);
  CHECK_FALSE(fs::exists(f.state / "logs" / ("talos-build-v1-9-1-" + std::to_string(second) + ".log")));
  CHECK(json::parse(read_file(queued))["attempts"] == 0);
  CHECK(json::parse(read_file(queued))["withdrawn"]["action"] == "unpublished");
  auto serve_log = read_file(f.dir / "serve.log");
  CHECK(serve_log.find("outcome=withdrawn status=200") != std::string::npos);

  // Published again by the owner: a new delivery runs it to the end.
  f.github.set_draft(f.release_id, false);
  CHECK(rx.deliver("published", "d-6") == 201);
  REQUIRE_MESSAGE(rx.wait_for("done"), read_file(f.dir / "serve.log"));
  f.check_final_state();
  CHECK(count_prefix(f.github.requests(), "PATCH release") == 1);
  CHECK(LocalReceiver::state_of(queued) == "withdrawn");  // the other stays withdrawn
  rx.process->stop();
}

TEST_CASE("run: the journal pins the release; unpublished or replaced since the run began, nothing more is published") {
  RunFixture f(true);
  // Stop after verify: the registry refuses the installer's manifest (the
  // preflight's upload, opened and cancelled, it accepted).
  f.proxy->add_rule(FaultRule{"PUT", "/manifests/", FaultRule::Action::respond, 400, "", 0, -1, {}});
  auto first = f.run({"--retries", "1", "--release-id", std::to_string(f.release_id), "--release-state", "prerelease"});
  f.proxy->clear_rules();
  CHECK(first.exit_code != 0);
  REQUIRE(f.journal().contains("release"));
  CHECK(f.journal()["release"] == json{{"id", f.release_id}, {"state", "prerelease"}});
  f.github.set_draft(f.release_id, true);
  f.github.clear_requests();
  auto unpublished = f.run();
  CHECK(unpublished.exit_code == 1);
  CHECK(unpublished.err.find("release " + f.kTag +
                             " of owner/talos-build was unpublished (it is a draft now; the run started from a "
                             "pre-release)") != std::string::npos);
  CHECK(count_prefix(f.github.requests(), "POST") == 0);
  CHECK(manifest_status(f.registry.host(), "owner/installer", f.kTag) == "404");

  // The release deleted and made again under the same tag: another id, refused.
  f.github.delete_release(f.release_id);
  int64_t again = f.github.create_release(kRepo, f.kTag);
  auto replaced = f.run();
  CHECK(replaced.exit_code == 1);
  CHECK(replaced.err.find("is release id " + std::to_string(again) + " now, but this run began for id " +
                          std::to_string(f.release_id) + "; run with --restart") != std::string::npos);
  CHECK(f.github.release(again).assets.empty());
}

TEST_CASE("run --release-id: of two drafts with one tag, only the one given is filled and published") {
  RunFixture f;
  f.github.delete_release(f.release_id);
  int64_t a = f.github.create_release(kRepo, f.kTag, true, true, "Notes from the build repository.");
  int64_t b = f.github.create_release(kRepo, f.kTag, true, true, "Draft B.");
  auto by_tag = f.run();
  CHECK(by_tag.exit_code == 1);
  CHECK(by_tag.out.find("2 draft releases carry this tag") != std::string::npos);  // the preflight's release row
  f.release_id = a;
  auto r = f.run({"--release-id", std::to_string(a), "--release-state", "draft"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK_FALSE(f.github.release(a).draft);
  f.check_final_state();
  CHECK(f.github.release(b).draft);
  CHECK(f.github.release(b).assets.empty());
  CHECK(f.github.release(b).body == "Draft B.");
}

}  // TEST_SUITE("integration")

}  // namespace sbpipe::test

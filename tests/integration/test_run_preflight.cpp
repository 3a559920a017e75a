// run's preflight, typed as a user would: `sbpipe run` and `run --dry-run`
// against the GitHub stand-in and a real docker-registry, each failure on
// its own, with its row in the table, the summary line, exit 1, and imager
// never started (the imager command leaves a marker file when it starts).

#include <doctest/doctest.h>

#include <sys/stat.h>

#include "integration/push_helpers.h"
#include "support/github_standin.h"
#include "support/registry_server.h"
#include "support/talos_model.h"

namespace sbpipe::test {
namespace {

namespace fs = std::filesystem;

const std::string k_repo = "owner/talos-build";
const std::string k_tag = "v1.13.0";

// The table's rows as `run` prints them ("CHECK  RESULT  DETAIL", the check
// names padded to the longest, "publish access").
std::string row(const std::string& check, const std::string& result, const std::string& detail) {
  return check + std::string(14 - check.size() + 2, ' ') + result + std::string(6 - result.size() + 2, ' ') + detail + "\n";
}

struct PreflightRun {
  TempDir dir;
  fs::path keys = dir / "keys";
  fs::path marker = dir / "imager-started";
  fs::path config = dir / "sbpipe.yaml";
  GitHubStandIn github;
  std::unique_ptr<LocalRegistry> registry;
  int64_t release_id = 0;

  explicit PreflightRun(RegistryConfig registry_config = {}, bool prerelease = true) {
    make_owner_keys(keys);
    registry = std::make_unique<LocalRegistry>(registry_config);
    release_id = github.create_release(k_repo, k_tag, prerelease, false, "notes");
    write_config("[sh, -c, 'touch " + marker.string() + "; exec \"$0\" \"$@\"', " + k_model + ", '{args}', --keys, '{keys}']");
  }

  void write_config(const std::string& imager_command, const std::string& extra = "") {
    write_file(config, "imager:\n  image: ghcr.io/siderolabs/imager:{version}\nrun:\n  repo: " + k_repo + "\n  state_dir: " +
                           (dir / "state").string() + "\n  keys_dir: " + keys.string() + "\n  imager_command: " + imager_command +
                           "\n  imager_output: '{out}'\n  installer_repository: " + registry->host() +
                           "/owner/installer\n  plain_http: true\n  github_api: " + github.api_url() + "\n" + extra);
  }

  RunResult run(std::vector<std::string> extra = {}, std::map<std::string, std::string> env = {}) {
    std::vector<std::string> argv{"run", "--tag", k_tag, "--config", config.string(), "--retries", "1"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    env.emplace("GH_TOKEN", github.token());
    env.emplace("GITHUB_TOKEN", "");
    return sbpipe(argv, env);
  }

  // Nothing ran: imager was never started, nothing was published.
  void check_nothing_ran() {
    CHECK_FALSE(fs::exists(marker));
    CHECK_FALSE(fs::exists(dir / "state" / k_tag / "out"));
    for (const auto& r : github.requests()) CHECK_MESSAGE(r.rfind("GET ", 0) == 0, r);
    auto manifest = manifest_status(registry->host(), "owner/installer", k_tag);
    CHECK_MESSAGE((manifest == "404" || manifest == "401"), manifest);  // 401: a registry with auth asked anonymously
  }
};

TEST_SUITE("integration") {

TEST_CASE("run --dry-run: the plan, then the preflight table; all pass, exit 0, nothing runs") {
  PreflightRun f;
  auto r = f.run({"--dry-run"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out.starts_with("state    " + (f.dir / "state" / k_tag).string() + "\n"));
  CHECK(r.out.find("\nCHECK           RESULT  DETAIL\n") != std::string::npos);
  // The fixture's keys are 2048-bit and its certificate expires in 30 days:
  // warnings, as `keys check` gives them, not failures.
  CHECK(r.out.find("\nkeys            warn    " + f.keys.string() + ": ") != std::string::npos);
  CHECK(r.out.find(row("pcr public key", "ok", (f.keys / "pcr-signing-key.pub.pem").string())) != std::string::npos);
  CHECK(r.out.find(row("publish access", "ok",
                       "the token from GH_TOKEN may push to owner/talos-build (a fine-grained token's Contents permission "
                       "shows when assets are uploaded)")) != std::string::npos);
  CHECK(r.out.find(row("release", "ok", "release " + k_tag + " of owner/talos-build is a pre-release")) != std::string::npos);
  CHECK(r.out.find(
            row("registry", "ok",
                f.registry->host() + "/owner/installer accepts a push with these credentials (upload opened and cancelled)")) !=
        std::string::npos);
  CHECK(r.out.find("\nimager engine   ok      /") != std::string::npos);  // sh, found on PATH
  CHECK(r.out.find(row("continuity", "ok", "no earlier release in " + f.registry->host() + "/owner/installer (first release)")) !=
        std::string::npos);
  CHECK(r.err.find(f.github.token()) == std::string::npos);
  CHECK(r.out.find(f.github.token()) == std::string::npos);
  f.check_nothing_ran();
  CHECK(f.github.requests() == std::vector<std::string>{"GET repo", "GET tags/" + k_tag});
}

TEST_CASE("issue 30: run makes private what it creates in a state_dir, and leaves the mode of one it did not create") {
  PreflightRun f;
  fs::path shared = f.dir / "shared";
  fs::create_directories(shared);
  ::chmod(shared.c_str(), 0755);        // set up by the owner for several users
  f.write_config("[false, '{args}']");  // imager fails at once, once the state is set up
  auto r = f.run({"--state-dir", shared.string()});
  CHECK(r.exit_code == 1);
  struct stat st {};
  REQUIRE(::stat(shared.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0755);
  REQUIRE(::stat((shared / k_tag).c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0700);
}

TEST_CASE("run: a missing key file fails the preflight; imager never starts") {
  PreflightRun f;
  fs::remove(f.keys / "uki-signing-key.pem");
  for (bool dry : {false, true}) {
    CAPTURE(dry);
    auto r = f.run(dry ? std::vector<std::string>{"--dry-run"} : std::vector<std::string>{});
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("\nkeys            FAIL    " + f.keys.string() + ": uki-signing-key.pem") != std::string::npos);
    CHECK(r.err.ends_with("preflight: 1 check(s) failed (keys); imager was not started\n"));
    f.check_nothing_ran();
  }
}

TEST_CASE("run: a certificate that is not the signing key's fails the preflight") {
  PreflightRun f;
  make_owner_keys(f.dir / "other", "Not The Owner");
  f.write_config("[sh, -c, 'touch " + f.marker.string() + "', '{args}']",
                 "  cert_file: " + (f.dir / "other" / "uki-signing-cert.pem").string() + "\n");
  auto r = f.run();
  CHECK(r.exit_code == 1);
  CHECK(r.out.find(row("certificate", "FAIL",
                       "run.cert_file: " + (f.dir / "other" / "uki-signing-cert.pem").string() +
                           " (O=Not The Owner) is not the certificate of the key imager signs with (" +
                           (f.keys / "uki-signing-cert.pem").string() + "): verify would refuse every UKI")) !=
        std::string::npos);
  CHECK(r.err.ends_with("preflight: 1 check(s) failed (certificate); imager was not started\n"));
  f.check_nothing_ran();
}

TEST_CASE("run: no token, or a token that may not push, fails the publish access row") {
  PreflightRun f;
  auto none = f.run({}, {{"GH_TOKEN", ""}});
  CHECK(none.exit_code == 1);
  CHECK(none.out.find(row("publish access", "FAIL",
                          "no GitHub token: set GH_TOKEN (or GITHUB_TOKEN) or pass --github-token-file")) != std::string::npos);
  CHECK(none.out.find(row("release", "skip", "needs publish access")) != std::string::npos);
  CHECK(none.err.ends_with("preflight: 1 check(s) failed (publish access); imager was not started\n"));
  f.check_nothing_ran();

  f.github.with_faults([](StandInFaults& faults) { faults.read_only = true; });
  auto read_only = f.run();
  CHECK(read_only.exit_code == 1);
  CHECK(read_only.out.find(row("publish access", "FAIL",
                               "the token from GH_TOKEN lacks push access to owner/talos-build (the account may only read "
                               "it); create a fine-grained token for owner/talos-build with Contents: read and write, or a "
                               "classic token with the repo scope")) != std::string::npos);
  f.check_nothing_ran();

  f.github.with_faults([](StandInFaults& faults) {
    faults.read_only = false;
    faults.oauth_scopes = "read:packages, gist";
    faults.private_repo = true;
  });
  auto classic = f.run();
  CHECK(classic.exit_code == 1);
  CHECK(classic.out.find(row("publish access", "FAIL",
                             "the token from GH_TOKEN is a classic token without the repo scope (it has: read:packages, "
                             "gist); create a fine-grained token for owner/talos-build with Contents: read and write, or a "
                             "classic token with the repo scope")) != std::string::npos);
  f.check_nothing_ran();
}

TEST_CASE("run: a release that is not a pre-release or draft fails the preflight") {
  PreflightRun f({}, false);
  auto r = f.run();
  CHECK(r.exit_code == 1);
  CHECK(r.out.find(row("release", "FAIL",
                       "release " + k_tag +
                           " of owner/talos-build is already a full release; run publishes pre-releases and drafts only")) !=
        std::string::npos);
  CHECK(r.err.ends_with("preflight: 1 check(s) failed (release); imager was not started\n"));
  f.check_nothing_ran();
}

TEST_CASE("run: a registry that refuses the credentials for push fails the preflight, without the password") {
  TempDir auth;
  auto hashed = sbpipe::test::run({"htpasswd", "-Bbn", "builder", "right-pass"});
  REQUIRE(hashed.exit_code == 0);
  write_file(auth / "htpasswd", hashed.out);
  PreflightRun f({false, (auth / "htpasswd").string(), ""});
  auto r = f.run({}, {{"SBPIPE_REGISTRY_USERNAME", "builder"}, {"SBPIPE_REGISTRY_PASSWORD", "wrong-pass-123"}});
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("\nregistry        FAIL    ") != std::string::npos);
  CHECK(r.out.find("the registry refused the credentials (Basic); the credentials come from --username/--password-file") !=
        std::string::npos);
  CHECK(r.out.find("pushing to " + f.registry->host() +
                   "/owner/installer needs write access to it (GHCR: a token with "
                   "write:packages)") != std::string::npos);
  CHECK(r.err.ends_with("preflight: 2 check(s) failed (registry, continuity); imager was not started\n"));
  CHECK(r.out.find("wrong-pass-123") == std::string::npos);
  CHECK(r.err.find("wrong-pass-123") == std::string::npos);
  f.check_nothing_ran();
  // The right password passes the same checks.
  auto right = f.run({"--dry-run"}, {{"SBPIPE_REGISTRY_USERNAME", "builder"}, {"SBPIPE_REGISTRY_PASSWORD", "right-pass"}});
  CHECK_MESSAGE(right.exit_code == 0, right.out << right.err);
}

TEST_CASE("run: no imager engine, or one that does not answer, fails the preflight") {
  PreflightRun f;
  f.write_config("[/nonexistent/docker, run, --rm, '{image}', '{args}']");
  auto missing = f.run();
  CHECK(missing.exit_code == 1);
  CHECK(missing.out.find(row("imager engine", "FAIL",
                             "/nonexistent/docker: not found (the first word of run.imager_command: install a container "
                             "engine such as docker or podman, or point run.imager_command at imager)")) != std::string::npos);
  CHECK(missing.err.ends_with("preflight: 1 check(s) failed (imager engine); imager was not started\n"));
  f.check_nothing_ran();

  // A docker whose daemon is down: `docker info` fails (a stub on PATH that
  // records what it was asked and answers as the client does without a daemon).
  fs::create_directories(f.dir / "bin");
  write_file(f.dir / "bin" / "docker",
             "#!/bin/sh\necho \"$@\" >> " + (f.dir / "docker-calls").string() +
                 "\necho 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' "
                 ">&2\nexit 1\n");
  ::chmod((f.dir / "bin" / "docker").c_str(), 0755);
  f.write_config("[docker, run, --rm, '{image}', '{args}']");
  auto down = f.run({}, {{"PATH", (f.dir / "bin").string() + ":/usr/bin:/bin"}});
  CHECK(down.exit_code == 1);
  CHECK(down.out.find(row("imager engine", "FAIL",
                          "docker info exited with status 1: the engine does not answer (is its daemon running, and may this "
                          "user reach its socket?)")) != std::string::npos);
  CHECK(read_file(f.dir / "docker-calls") == "info\n");  // asked, never told to run imager
  f.check_nothing_ran();
}

}  // TEST_SUITE("integration")

}  // namespace
}  // namespace sbpipe::test

// Issue 19 (network half): the adversarial findings F4, F11, F15, F16 and
// F17 replayed against the sbpipe binary, with fixtures made here from the
// recipes of the adversarial review (R4, R6): a hostile registry with two
// listeners, FIFOs and /dev/zero as key files, a config with a complex key.

#include <doctest/doctest.h>

#include <sys/stat.h>

#include <algorithm>
#include <chrono>

#include "integration/push_helpers.h"
#include "support/hostile_registry.h"

using namespace sbpipe::test;

namespace {

const std::string kUser = "advuser";
const std::string kPassword = "S3cretRegistryPassw0rd";

std::map<std::string, std::string> login_env() {
  return {{"SBPIPE_REGISTRY_USERNAME", kUser}, {"SBPIPE_REGISTRY_PASSWORD", kPassword}, {"DOCKER_CONFIG", "/nonexistent"}};
}

std::filesystem::path installer(const TempDir& dir, const std::string& arch, uint64_t seed) {
  auto layers = installer_layers(arch, true, seed);
  auto path = dir / ("installer-" + arch + ".tar");
  write_tar(path, docker_save_members(layers, config_json(arch, layers)));
  return path;
}

int count(const std::vector<HostileRequest>& seen, const std::string& listener, const std::string& method,
          const std::string& path_part = "") {
  return static_cast<int>(std::count_if(seen.begin(), seen.end(), [&](const HostileRequest& r) {
    return r.listener == listener && r.method == method && r.path.find(path_part) != std::string::npos;
  }));
}

}  // namespace

TEST_SUITE("integration") {

TEST_CASE("F4: an upload Location on another origin gets the blob but never the registry login") {
  HostileRegistry registry(HostileRegistry::Mode::leak, kUser, kPassword);
  TempDir dir;
  auto env = login_env();
  auto r = push({installer(dir, "amd64", 1).string()}, "127.0.0.1:" + std::to_string(registry.port()) + "/adv/x:v1",
                {"--log-level", "debug"}, env);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  auto seen = registry.requests();
  // The uploads went to the other listener, without any Authorization header.
  CHECK(count(seen, "other", "PUT") >= 3);  // two layers and the config
  for (const auto& req : seen)
    if (req.listener == "other") CHECK_MESSAGE(!req.authorization, req.method << " " << req.path << " carried Authorization");
  // The registry's own requests did carry the login.
  CHECK(count(seen, "registry", "PUT", "/manifests/v1") == 1);
  for (const auto& req : seen)
    if (req.listener == "registry" && req.authorization) CHECK(req.right_credentials);
  // The debug log says which host got which kind of credential, never the value.
  CHECK(r.err.find("to http://localhost:" + std::to_string(registry.other_port()) + " (another origin) without credentials") !=
        std::string::npos);
  CHECK(r.err.find("to http://127.0.0.1:" + std::to_string(registry.port()) + " with Basic authorization") != std::string::npos);
  CHECK(r.err.find(kPassword) == std::string::npos);
}

TEST_CASE("F11: when the index tag fails, no per-arch tag moves; a re-run moves all of them") {
  HostileRegistry registry(HostileRegistry::Mode::fail_tag, kUser, kPassword, "v1");
  TempDir dir;
  std::vector<std::string> inputs{installer(dir, "amd64", 1).string(), installer(dir, "arm64", 2).string()};
  std::string ref = "127.0.0.1:" + std::to_string(registry.port()) + "/adv/x:v1";
  auto failed = push(inputs, ref, {"--retries", "2"}, login_env());
  check_one_line_error(failed, "PUT manifest v1: HTTP 500 UNKNOWN: storage failed");
  CHECK(registry.tags().empty());
  auto seen = registry.requests();
  CHECK(count(seen, "registry", "PUT", "/manifests/v1-amd64") == 0);
  CHECK(count(seen, "registry", "PUT", "/manifests/v1-arm64") == 0);
  CHECK(count(seen, "registry", "PUT", "/manifests/sha256:") == 2);  // the images, by digest

  registry.set_mode(HostileRegistry::Mode::normal);
  auto again = push(inputs, ref, {}, login_env());
  REQUIRE_MESSAGE(again.exit_code == 0, again.err);
  CHECK(registry.tags() == std::vector<std::string>{"v1", "v1-amd64", "v1-arm64"});
}

TEST_CASE("F11: a run that stopped after the index tag moves the stale arch tags on the next run") {
  HostileRegistry registry(HostileRegistry::Mode::fail_tag, kUser, kPassword, "v1-arm64");
  TempDir dir;
  std::vector<std::string> inputs{installer(dir, "amd64", 3).string(), installer(dir, "arm64", 4).string()};
  std::string ref = "127.0.0.1:" + std::to_string(registry.port()) + "/adv/x:v1";
  auto failed = push(inputs, ref, {"--retries", "1"}, login_env());
  check_one_line_error(failed, "names the new index, but its arch tag v1-arm64 did not move (run again to move it)");
  CHECK(registry.tags() == std::vector<std::string>{"v1", "v1-amd64"});
  registry.set_mode(HostileRegistry::Mode::normal);
  auto again = push(inputs, ref, {}, login_env());
  REQUIRE_MESSAGE(again.exit_code == 0, again.err);
  CHECK(registry.tags() == std::vector<std::string>{"v1", "v1-amd64", "v1-arm64"});
  CHECK(again.err.find("tagged v1-arm64") != std::string::npos);
}

TEST_CASE("F17: a huge error body is cut off with the host and request named") {
  HostileRegistry registry(HostileRegistry::Mode::huge_body, kUser, kPassword);
  TempDir dir;
  auto r = push({installer(dir, "amd64", 5).string()}, "127.0.0.1:" + std::to_string(registry.port()) + "/adv/x:v1",
                {"--retries", "1"}, login_env());
  check_one_line_error(
      r, "GET http://127.0.0.1:" + std::to_string(registry.port()) + "/v2/: HTTP 500 response body larger than 4194304 bytes");
  CHECK(registry.tags().empty());
}

TEST_CASE("F15/F17: a FIFO or a device as a key, certificate or secret file is refused at once, with the reason") {
  TempDir dir;
  REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
  auto started = std::chrono::steady_clock::now();
  SUBCASE("verify --cert") {
    for (const std::string& file : {(dir / "fifo").string(), std::string("/dev/zero")}) {
      auto r = sbpipe::test::sbpipe({"verify", (dir / "fifo").string(), "--cert", file});
      CHECK(r.exit_code == 2);
      CHECK_MESSAGE(r.err.find("--cert " + file + ": " + file + ": not a regular file (a ") != std::string::npos, r.err);
    }
  }
  SUBCASE("push-installer --password-file") {
    auto r = sbpipe::test::sbpipe({"push-installer", (dir / "fifo").string(), "--ref", "127.0.0.1:1/a/b:v1", "--plain-http",
                                   "--username", "u", "--password-file", (dir / "fifo").string()});
    CHECK(r.exit_code == 2);
    CHECK_MESSAGE(r.err.find("--password-file file " + (dir / "fifo").string() + ": cannot read (not a regular file (a FIFO))") !=
                      std::string::npos,
                  r.err);
  }
  SUBCASE("keys check with pcr-signing-key.pem a FIFO") {
    ::unlink((dir / "fifo").c_str());
    std::filesystem::create_directories(dir / "keys");
    REQUIRE(::mkfifo((dir / "keys" / "pcr-signing-key.pem").c_str(), 0600) == 0);
    auto r = sbpipe::test::sbpipe({"keys", "check", (dir / "keys").string()});
    CHECK(r.exit_code == 1);
    CHECK_MESSAGE(r.out.find("pcr-signing-key.pem") != std::string::npos, r.out);
  }
  SUBCASE("serve --tls-cert-file /dev/zero") {
    write_file(dir / "secret", "0123456789abcdef");
    auto r = sbpipe::test::sbpipe({"serve", "--listen", "127.0.0.1:" + std::to_string(free_port()), "--webhook-secret-file",
                                   (dir / "secret").string(), "--allow-repo", "o/r", "--executor", "local", "--state-dir",
                                   (dir / "state").string(), "--tls-cert-file", "/dev/zero", "--tls-key-file",
                                   (dir / "fifo").string()});
    CHECK(r.exit_code == 2);
    CHECK_MESSAGE(r.err.find("TLS certificate file: /dev/zero: not a regular file (a character device)") != std::string::npos,
                  r.err);
  }
  // Nothing waited for a writer (the FIFO has none).
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(20));
}

TEST_CASE("F16: a config key that is not a plain name is a config error (exit 2) naming the file") {
  TempDir dir;
  write_file(dir / "complexkey.yaml", "? [imager, x]\n: 1\n");
  auto r = sbpipe::test::sbpipe({"plan", "--tag", "v1.9.0", "--config", (dir / "complexkey.yaml").string()});
  CHECK(r.exit_code == 2);
  CHECK_MESSAGE(r.err.find((dir / "complexkey.yaml").string() + ": the top level has a key that is not a plain name (a list)") !=
                    std::string::npos,
                r.err);
  CHECK(r.err.find("internal error") == std::string::npos);
  write_file(dir / "nested.yaml", "imager:\n  ? {a: 1}\n  : 2\n");
  auto nested = sbpipe::test::sbpipe({"plan", "--tag", "v1.9.0", "--config", (dir / "nested.yaml").string()});
  CHECK(nested.exit_code == 2);
  CHECK_MESSAGE(nested.err.find("imager has a key that is not a plain name (a mapping)") != std::string::npos, nested.err);
}

}  // TEST_SUITE("integration")

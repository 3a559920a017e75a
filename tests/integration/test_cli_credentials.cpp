// Credentials as the ecosystem keeps them: the GitHub token where gh looks
// (GH_TOKEN, then GITHUB_TOKEN, then --github-token-file), and registry
// credentials kept by a docker credential helper (credsStore/credHelpers in
// config.json). The helper here is a stub `docker-credential-test` on PATH
// that speaks the protocol of docker/docker-credential-helpers (README
// "Usage": `get` reads the server URL on stdin, answers
// {"ServerURL","Username","Secret"}, or exits 1 printing "credentials not
// found in native keychain") and records what it was asked.

#include <doctest/doctest.h>

#include "integration/push_helpers.h"
#include "support/github_standin.h"
#include "support/registry_server.h"

namespace sbpipe::test {
namespace {

namespace fs = std::filesystem;

const std::string k_repo = "me/talos-build";
const std::string k_tag = "v1.9.0";

TEST_SUITE("integration") {

TEST_CASE(
    "cli: the GitHub token comes from --github-token-file when given, else GH_TOKEN, then GITHUB_TOKEN; a 401 names the source") {
  GitHubStandIn github;
  int64_t id = github.create_release(k_repo, k_tag, true, false, "notes");
  TempDir dir;
  write_file(dir / "metal-amd64.iso", "iso bytes");
  write_file(dir / "token", github.token() + "\n");
  auto upload = [&](std::map<std::string, std::string> env, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"upload-assets",
                                  (dir / "metal-amd64.iso").string(),
                                  "-R",
                                  k_repo,
                                  "--tag",
                                  k_tag,
                                  "--github-api",
                                  github.api_url(),
                                  "--retry-delay-ms",
                                  "20",
                                  "--log-level",
                                  "debug"};
    args.insert(args.end(), extra.begin(), extra.end());
    return sbpipe(args, env);
  };

  auto gh = upload({{"GH_TOKEN", github.token()}, {"GITHUB_TOKEN", "ghp_wrong_but_second_000"}});
  CHECK_MESSAGE(gh.exit_code == 0, gh.err);
  CHECK(gh.err.find("GitHub token from GH_TOKEN\n") != std::string::npos);
  CHECK(gh.err.find(github.token()) == std::string::npos);
  CHECK(github.asset(id, "metal-amd64.iso"));

  auto wrong = upload({{"GH_TOKEN", "ghp_not_the_token_1234567"}, {"GITHUB_TOKEN", github.token()}});
  CHECK(wrong.exit_code != 0);
  CHECK(wrong.err.find("HTTP 401") != std::string::npos);
  CHECK(wrong.err.find("(token from GH_TOKEN; it needs Contents: read and write on the repository, e.g. a fine-grained "
                       "token for that repository)") != std::string::npos);
  CHECK(wrong.err.find("ghp_not_the_token_1234567") == std::string::npos);

  auto second = upload({{"GH_TOKEN", ""}, {"GITHUB_TOKEN", github.token()}});
  CHECK_MESSAGE(second.exit_code == 0, second.err);
  CHECK(second.err.find("GitHub token from GITHUB_TOKEN\n") != std::string::npos);

  auto file = upload({{"GH_TOKEN", "ghp_not_the_token_1234567"}, {"GITHUB_TOKEN", ""}},
                     {"--github-token-file", (dir / "token").string()});
  CHECK_MESSAGE(file.exit_code == 0, file.err);
  CHECK(file.err.find("GitHub token from --github-token-file " + (dir / "token").string() + "\n") != std::string::npos);
}

// The stub helper: answers for one server, records every question.
void write_stub_helper(const fs::path& bin, const std::string& server, const std::string& user, const std::string& secret) {
  fs::create_directories(bin);
  write_file(bin / "docker-credential-test",
             "#!/bin/sh\n"
             "[ \"$1\" = get ] || { echo \"unexpected action $1\" >&2; exit 2; }\n"
             "read -r url\n"
             "printf '%s\\n' \"$url\" >> \"$(dirname \"$0\")/asked\"\n"
             "if [ \"$url\" = '" +
                 server +
                 "' ]; then\n"
                 "  printf '{\"ServerURL\":\"%s\",\"Username\":\"" +
                 user + "\",\"Secret\":\"" + secret +
                 "\"}' \"$url\"\n"
                 "else\n"
                 "  echo 'credentials not found in native keychain'; exit 1\n"
                 "fi\n");
  fs::permissions(bin / "docker-credential-test", fs::perms::owner_all);
}

TEST_CASE("cli: registry credentials from a docker credential helper (credsStore and credHelpers)") {
  TempDir dir;
  auto hashed = run({"htpasswd", "-Bbn", "builder", "helper-s3cret"});
  REQUIRE(hashed.exit_code == 0);
  write_file(dir / "htpasswd", hashed.out);
  LocalRegistry registry({false, (dir / "htpasswd").string(), ""});
  auto layers = installer_layers("amd64", true, 7);
  write_tar(dir / "installer.tar", docker_save_members(layers, config_json("amd64", layers)));
  const fs::path bin = dir / "bin";
  write_stub_helper(bin, registry.host(), "builder", "helper-s3cret");
  std::map<std::string, std::string> env{{"DOCKER_CONFIG", (dir / "docker").string()},
                                         {"PATH", bin.string() + ":" + std::getenv("PATH")}};
  const std::string ref = registry.host() + "/test/installer:v1";

  SUBCASE("credsStore: the helper answers for every registry") {
    write_file(dir / "docker" / "config.json", R"({"auths":{},"credsStore":"test"})");
    auto r = push({(dir / "installer.tar").string()}, ref, {"--log-level", "debug"}, env);
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    CHECK(read_file(bin / "asked") == registry.host() + "\n");
    CHECK(r.err.find("registry credentials for " + registry.host() + ": docker-credential-test") != std::string::npos);
    CHECK(r.err.find("helper-s3cret") == std::string::npos);
  }
  SUBCASE("credHelpers: the registry's own helper wins over an auths entry") {
    write_file(dir / "docker" / "config.json", "{\"auths\":{\"" + registry.host() +
                                                   "\":{\"auth\":\"d3Jvbmc6d3Jvbmc=\"}},"
                                                   "\"credHelpers\":{\"" +
                                                   registry.host() + "\":\"test\"}}");
    auto r = push({(dir / "installer.tar").string()}, ref, {}, env);
    CHECK_MESSAGE(r.exit_code == 0, r.err);
  }
  SUBCASE("a helper with nothing for the registry: anonymous, and the registry's refusal") {
    write_stub_helper(bin, "other.example", "builder", "helper-s3cret");
    write_file(dir / "docker" / "config.json", R"({"credsStore":"test"})");
    auto r = push({(dir / "installer.tar").string()}, ref, {"--log-level", "debug"}, env);
    CHECK(r.exit_code != 0);
    CHECK(r.err.find("docker-credential-test has none; anonymous") != std::string::npos);
    CHECK(r.err.find("requires credentials") != std::string::npos);
  }
  SUBCASE("a helper that is not installed is named") {
    write_file(dir / "docker" / "config.json", R"({"credsStore":"secretservice-missing"})");
    auto r = push({(dir / "installer.tar").string()}, ref, {}, env);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("docker-credential-secretservice-missing is not in PATH (config.json names the credential helper "
                     "'secretservice-missing')") != std::string::npos);
  }
}

}  // TEST_SUITE("integration")

}  // namespace
}  // namespace sbpipe::test

namespace sbpipe::test {
namespace {

TEST_SUITE("integration") {

TEST_CASE("cli: a loopback registry that speaks plain HTTP is reached without --plain-http, as crane does") {
  LocalRegistry registry;
  TempDir dir;
  auto layers = installer_layers("amd64", true, 9);
  write_tar(dir / "installer.tar", docker_save_members(layers, config_json("amd64", layers)));
  auto r = sbpipe({"push-installer", (dir / "installer.tar").string(), "--ref", registry.host() + "/test/installer:v1",
                   "--retry-delay-ms", "20"},
                  {{"HOME", dir.path().string()}});
  CHECK_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out.starts_with(registry.host() + "/test/installer@sha256:"));
  CHECK(r.err.find(registry.host() + ": no HTTPS (") != std::string::npos);
  CHECK(r.err.find("it answers plain HTTP, which sbpipe uses for loopback and private addresses as crane does") !=
        std::string::npos);
}

}  // TEST_SUITE("integration")

}  // namespace
}  // namespace sbpipe::test

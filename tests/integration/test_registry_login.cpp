// `sbpipe registry login` as `docker login` / `crane auth login` behave
// (docker/cli cli/command/registry/login.go: the password from stdin, the
// login checked against the registry before it is saved, config.json kept
// whole; credentials/native_store.go: a credsStore/credHelpers entry makes
// the helper store the secret, the file keeping an empty auths entry), then
// --authfile, --insecure and retry messages on the commands that use them.
// The registry is the real CNCF distribution registry with htpasswd auth.

#include <doctest/doctest.h>

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "integration/push_helpers.h"
#include "support/registry_server.h"

namespace sbpipe::test {
namespace {

namespace fs = std::filesystem;

// sbpipe with `password` on its stdin (through sh, as a user pipes it).
RunResult with_stdin(const std::string& password, const std::vector<std::string>& args,
                     std::map<std::string, std::string> env = {}) {
  std::string command = "printf %s \"$SBPIPE_TEST_STDIN\" | exec \"$0\" \"$@\"";
  std::vector<std::string> argv{"sh", "-c", command, sbpipe_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  env["SBPIPE_TEST_STDIN"] = password;
  return run(argv, env);
}

struct AuthRegistry {
  TempDir dir;
  std::unique_ptr<LocalRegistry> registry;
  explicit AuthRegistry(RegistryConfig config = {}) {
    auto hashed = run({"htpasswd", "-Bbn", "builder", "login-s3cret"});
    REQUIRE(hashed.exit_code == 0);
    write_file(dir / "htpasswd", hashed.out);
    config.htpasswd_file = (dir / "htpasswd").string();
    registry = std::make_unique<LocalRegistry>(config);
  }
  std::string host() const { return registry->host(); }
};

TEST_SUITE("integration") {

TEST_CASE("registry login: checks the login, then writes config.json as docker login does") {
  AuthRegistry r;
  TempDir home;
  const fs::path config = home / "docker" / "config.json";
  std::map<std::string, std::string> env{{"DOCKER_CONFIG", (home / "docker").string()}};
  // Entries and keys sbpipe does not know stay as they were.
  write_file(config, R"({"auths":{"other.example":{"auth":"b3RoZXI6b3RoZXI="}},"HttpHeaders":{"User-Agent":"mine"}})");

  SUBCASE("the right password: saved as auths[host].auth, mode 0600, the rest kept") {
    auto login = with_stdin("login-s3cret\n", {"registry", "login", r.host(), "-u", "builder", "--password-stdin"}, env);
    REQUIRE_MESSAGE(login.exit_code == 0, login.err);
    CHECK(login.out == "Login Succeeded\n");
    CHECK(login.err.find("credentials for " + r.host() + " saved in " + config.string()) != std::string::npos);
    CHECK(login.err.find("login-s3cret") == std::string::npos);
    auto json = nlohmann::json::parse(read_file(config));
    CHECK(json["auths"][r.host()]["auth"] == "YnVpbGRlcjpsb2dpbi1zM2NyZXQ=");  // base64("builder:login-s3cret")
    CHECK(json["auths"]["other.example"]["auth"] == "b3RoZXI6b3RoZXI=");
    CHECK(json["HttpHeaders"]["User-Agent"] == "mine");
    struct stat st {};
    REQUIRE(::stat(config.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);

    // push-installer then finds the login where docker keeps it.
    auto layers = installer_layers("amd64", true, 11);
    write_tar(home / "installer.tar", docker_save_members(layers, config_json("amd64", layers)));
    auto pushed = push({(home / "installer.tar").string()}, r.host() + "/test/login:v1", {}, env);
    CHECK_MESSAGE(pushed.exit_code == 0, pushed.err);
  }
  SUBCASE("a wrong password: refused by the registry, nothing written") {
    std::string before = read_file(config);
    auto login = with_stdin("wrong-password", {"registry", "login", r.host(), "-u", "builder", "--password-stdin"}, env);
    check_one_line_error(login, "registry login " + r.host() + " (nothing saved): registry " + r.host());
    CHECK(login.err.find("the registry refused the credentials (Basic)") != std::string::npos);
    CHECK(read_file(config) == before);
  }
  SUBCASE("the password never from a flag; from stdin or a terminal") {
    auto flag = sbpipe({"registry", "login", r.host(), "-u", "builder", "-p", "login-s3cret"}, env);
    CHECK(flag.exit_code == 2);
    CHECK(flag.err.find("--password is not taken (a password in a flag stays in shell history and ps); type it at the "
                        "prompt, or pipe it in with --password-stdin") != std::string::npos);
    CHECK(flag.err.find("login-s3cret") == std::string::npos);
    auto none = sbpipe({"registry", "login", r.host(), "-u", "builder"}, env);
    CHECK(none.exit_code == 2);
    CHECK(none.err.find("stdin is no terminal to ask on: pipe the password in") != std::string::npos);
    auto empty = with_stdin("", {"registry", "login", r.host(), "-u", "builder", "--password-stdin"}, env);
    CHECK(empty.exit_code == 2);
    CHECK(empty.err.find("stdin held no password") != std::string::npos);
  }
}

TEST_CASE("registry login: a credsStore helper stores the secret; config.json keeps an empty entry") {
  AuthRegistry r;
  TempDir home;
  const fs::path bin = home / "bin";
  fs::create_directories(bin);
  // A stub docker-credential-test speaking `store` (docker-credential-helpers
  // README "Usage": the JSON on stdin, exit 0).
  write_file(bin / "docker-credential-test",
             "#!/bin/sh\n"
             "[ \"$1\" = store ] || { echo \"unexpected action $1\" >&2; exit 2; }\n"
             "cat > \"$(dirname \"$0\")/stored\"\n");
  fs::permissions(bin / "docker-credential-test", fs::perms::owner_all);
  write_file(home / "docker" / "config.json", R"({"credsStore":"test"})");
  std::map<std::string, std::string> env{{"DOCKER_CONFIG", (home / "docker").string()},
                                         {"PATH", bin.string() + ":" + std::getenv("PATH")}};
  auto login = with_stdin("login-s3cret", {"registry", "login", r.host(), "-u", "builder", "--password-stdin"}, env);
  REQUIRE_MESSAGE(login.exit_code == 0, login.err);
  CHECK(login.err.find("stored by docker-credential-test") != std::string::npos);
  auto stored = nlohmann::json::parse(read_file(bin / "stored"));
  CHECK(stored == nlohmann::json{{"ServerURL", r.host()}, {"Username", "builder"}, {"Secret", "login-s3cret"}});
  std::string text = read_file(home / "docker" / "config.json");
  CHECK(text.find("login-s3cret") == std::string::npos);
  auto json = nlohmann::json::parse(text);
  CHECK(json["credsStore"] == "test");
  CHECK(json["auths"][r.host()] == nlohmann::json::object());
}

TEST_CASE("--authfile: registry login writes it and push-installer reads it instead of docker's") {
  AuthRegistry r;
  TempDir home;
  const fs::path authfile = home / "auth.json";
  std::map<std::string, std::string> env{{"DOCKER_CONFIG", (home / "unused").string()}};
  auto login = with_stdin(
      "login-s3cret", {"registry", "login", r.host(), "-u", "builder", "--password-stdin", "--authfile", authfile.string()}, env);
  REQUIRE_MESSAGE(login.exit_code == 0, login.err);
  CHECK(fs::exists(authfile));
  CHECK_FALSE(fs::exists(home / "unused" / "config.json"));
  auto layers = installer_layers("amd64", true, 12);
  write_tar(home / "installer.tar", docker_save_members(layers, config_json("amd64", layers)));
  auto without = push({(home / "installer.tar").string()}, r.host() + "/test/authfile:v1", {}, env);
  CHECK(without.exit_code == 1);
  CHECK(without.err.find("the registry requires credentials (Basic) and none were given") != std::string::npos);
  auto with = push({(home / "installer.tar").string()}, r.host() + "/test/authfile:v1",
                   {"--authfile", authfile.string(), "--log-level", "debug"}, env);
  CHECK_MESSAGE(with.exit_code == 0, with.err);
  CHECK(with.err.find("registry credentials for " + r.host() + ": auths entry in " + authfile.string()) != std::string::npos);
  auto missing = push({(home / "installer.tar").string()}, r.host() + "/test/authfile:v1",
                      {"--authfile", (home / "nope.json").string()}, env);
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("--authfile " + (home / "nope.json").string() + ": no such file") != std::string::npos);
}

TEST_CASE("--insecure: a registry with a self-signed certificate, refused without it") {
  TempDir tls;
  auto made = run({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                   "subjectAltName=IP:127.0.0.1", "-keyout", (tls / "key.pem").string(), "-out", (tls / "cert.pem").string()});
  REQUIRE_MESSAGE(made.exit_code == 0, made.err);
  AuthRegistry r(RegistryConfig{false, "", "", (tls / "cert.pem").string(), (tls / "key.pem").string()});
  std::map<std::string, std::string> env{{"DOCKER_CONFIG", (tls / "docker").string()}};
  std::vector<std::string> login{"registry", "login", r.host(), "-u", "builder", "--password-stdin"};
  auto refused = with_stdin("login-s3cret", login, env);
  check_one_line_error(refused, "the certificate is not trusted");
  CHECK(refused.err.find("--insecure for a registry with a self-signed certificate") != std::string::npos);
  login.push_back("--insecure");
  auto accepted = with_stdin("login-s3cret", login, env);
  REQUIRE_MESSAGE(accepted.exit_code == 0, accepted.err);

  auto layers = installer_layers("amd64", true, 13);
  write_tar(tls / "installer.tar", docker_save_members(layers, config_json("amd64", layers)));
  auto pushed =
      sbpipe({"push-installer", (tls / "installer.tar").string(), "--ref", r.host() + "/test/tls:v1", "--insecure"}, env);
  CHECK_MESSAGE(pushed.exit_code == 0, pushed.err);
  CHECK(pushed.out.starts_with(r.host() + "/test/tls@sha256:"));
}

TEST_CASE("retries say what they do: attempt N of M and the delay") {
  TempDir dir;
  auto layers = installer_layers("amd64", true, 14);
  write_tar(dir / "installer.tar", docker_save_members(layers, config_json("amd64", layers)));
  int closed = free_port();  // nothing listens: connection refused, a transient failure
  auto r = push({(dir / "installer.tar").string()}, "127.0.0.1:" + std::to_string(closed) + "/test/retry:v1", {"--retries", "3"},
                {{"HOME", dir.path().string()}});
  CHECK(r.exit_code == 1);
  CHECK_MESSAGE(r.err.find("(attempt 1 of 3 failed; retrying in ") != std::string::npos, r.err);
  CHECK(r.err.find("(attempt 2 of 3 failed; retrying in ") != std::string::npos);
  CHECK(r.err.find("attempt 3 of 3 failed") == std::string::npos);
}

}  // TEST_SUITE("integration")

}  // namespace
}  // namespace sbpipe::test

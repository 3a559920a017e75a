#include <doctest/doctest.h>

#include "core/redact.h"
#include "oci/auth.h"
#include "oci/credentials.h"
#include "oci/docker_config.h"
#include "oci/registry.h"
#include "support/process.h"
#include "unit/fakes.h"

using namespace sbpipe;
using namespace sbpipe::test;
using namespace std::chrono_literals;

TEST_SUITE("unit") {

TEST_CASE("parse_www_authenticate") {
  auto c = parse_www_authenticate(R"(Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:o/r:pull")");
  REQUIRE(c.size() == 1);
  CHECK(c[0].scheme == "bearer");
  CHECK(c[0].params["realm"] == "https://ghcr.io/token");
  CHECK(c[0].params["service"] == "ghcr.io");
  CHECK(c[0].params["scope"] == "repository:o/r:pull");

  auto two = parse_www_authenticate(R"(Basic realm="r1", Bearer realm="x\"y", error=invalid_token)");
  REQUIRE(two.size() == 2);
  CHECK(two[0].scheme == "basic");
  CHECK(two[1].params["realm"] == "x\"y");
  CHECK(two[1].params["error"] == "invalid_token");
  CHECK(parse_www_authenticate("").empty());
  CHECK(parse_www_authenticate(",,,=\"").empty());
}

TEST_CASE("Authenticator: bearer token, default 60 s life, refresh, refusal") {
  FakeHttp http;
  FakeClock clock;
  Authenticator auth(http, clock, Credentials{"u", "p"}, {"repository:o/r:pull,push"});
  CHECK(auth.header().value().empty());

  HttpResponse challenge{401, {{"WWW-Authenticate", R"(Bearer realm="https://auth.example/token",service="reg")"}}, "", ""};
  http.reply(200, {}, R"({"token":"t-one"})");
  REQUIRE(auth.on_unauthorized(challenge));
  CHECK(http.requests.back().url == "https://auth.example/token?service=reg&scope=repository%3Ao%2Fr%3Apull%2Cpush");
  CHECK(find_header(http.requests.back().headers, "Authorization") == std::optional<std::string>("Basic dTpw"));
  CHECK(auth.header().value() == "Bearer t-one");

  SUBCASE("a token without expires_in is renewed before 60 s are up") {
    clock.advance(45s);
    CHECK(auth.header().value() == "Bearer t-one");
    clock.advance(10s);
    http.reply(200, {}, R"({"access_token":"t-two","expires_in":300})");
    CHECK(auth.header().value() == "Bearer t-two");
    CHECK(auth.token_requests() == 2);
  }
  SUBCASE("a 401 right after a fresh token is a refusal") {
    auto again = auth.on_unauthorized(challenge);
    REQUIRE(!again);
    CHECK(again.error().kind() == ErrorKind::auth);
  }
  SUBCASE("after a success, a 401 means expiry: a new token is fetched") {
    auth.on_success();
    http.reply(200, {}, R"({"token":"t-three"})");
    REQUIRE(auth.on_unauthorized(challenge));
    CHECK(auth.header().value() == "Bearer t-three");
  }
  SUBCASE("token service refuses") {
    auth.on_success();
    http.reply(401);
    auto st = auth.on_unauthorized(challenge);
    CHECK(st.error().message() == "token service https://auth.example: credentials refused (HTTP 401)");
  }
}

TEST_CASE("Authenticator: Basic needs credentials") {
  FakeHttp http;
  FakeClock clock;
  HttpResponse basic{401, {{"www-authenticate", R"(Basic realm="registry")"}}, "", ""};
  Authenticator anonymous(http, clock, Credentials{}, {});
  CHECK(anonymous.on_unauthorized(basic).error().message() == "the registry requires credentials (Basic) and none were given");
  Authenticator with(http, clock, Credentials{"user", "pass"}, {});
  REQUIRE(with.on_unauthorized(basic));
  CHECK(with.header().value() == "Basic dXNlcjpwYXNz");
  CHECK(with.on_unauthorized(basic).error().message() == "the registry refused the credentials (Basic)");
  CHECK(http.requests.empty());
}

TEST_CASE("Registry: metadata requests retry 429 with Retry-After and 5xx, then give up with the status") {
  FakeHttp http;
  FakeClock clock;
  Authenticator auth(http, clock, Credentials{}, {});
  Registry registry(http, auth, clock, RegistryEndpoint{"http://reg", "o/r"}, RetryPolicy{3, 100ms, 1000ms});
  Digest d{std::string(64, 'b')};

  http.reply(429, {{"Retry-After", "2"}});
  http.reply(200);
  CHECK(registry.has_blob(d).value() == true);
  REQUIRE(clock.slept.size() == 1);
  CHECK(clock.slept[0] == 2000ms);
  CHECK(http.requests[0].method == "HEAD");
  CHECK(http.requests[0].url == "http://reg/v2/o/r/blobs/sha256:" + std::string(64, 'b'));

  http.reply(503);
  http.reply_error(ErrorKind::transient);
  http.reply(503, {}, R"({"errors":[{"code":"UNAVAILABLE","message":"try later"}]})");
  auto r = registry.has_blob(d);
  REQUIRE(!r);
  CHECK(r.error().message() == "registry reg/o/r: HEAD blob sha256:bbbbbbbbbbbb: HTTP 503 UNAVAILABLE: try later");
  CHECK(r.error().retryable());

  http.reply(404);
  CHECK(registry.has_blob(d).value() == false);
}

TEST_CASE("Registry: upload follows a relative Location and checks the manifest digest") {
  FakeHttp http;
  FakeClock clock;
  Authenticator auth(http, clock, Credentials{}, {});
  Registry registry(http, auth, clock, RegistryEndpoint{"http://reg", "o/r"}, RetryPolicy{});
  std::string blob = "hello blob";
  Digest d = Digest::of(blob);
  http.reply(202, {{"Location", "/v2/o/r/blobs/uploads/u1?_state=s"}});
  http.reply(201);
  MemorySource body(blob);
  REQUIRE(registry.upload_blob(d, blob.size(), body));
  CHECK(http.requests[1].method == "PUT");
  CHECK(http.requests[1].url == "http://reg/v2/o/r/blobs/uploads/u1?_state=s&digest=sha256%3A" + d.hex);
  CHECK(http.requests[1].body == blob);

  http.reply(201, {{"Docker-Content-Digest", "sha256:" + std::string(64, 'c')}});
  auto st = registry.put_manifest("v1", "application/vnd.oci.image.manifest.v1+json", "{}");
  REQUIRE(!st);
  CHECK(st.error().message().find("but sbpipe sent sha256:") != std::string::npos);
}

TEST_CASE("resolve_credentials: flags, environment, docker config") {
  TempDir dir;
  std::map<std::string, std::string> env;
  auto getenv = [&](const char* name) -> std::optional<std::string> {
    auto it = env.find(name);
    return it == env.end() ? std::nullopt : std::optional(it->second);
  };
  CredentialSources sources{"", std::nullopt, getenv};
  CHECK(!resolve_credentials("ghcr.io", sources)->present());

  env["DOCKER_CONFIG"] = dir.path().string();
  write_file(dir / "config.json", R"({"auths":{"https://ghcr.io":{"auth":"b3duZXI6Z2hwX3NlY3JldHRva2Vu"}}})");
  auto from_config = resolve_credentials("ghcr.io", sources);
  REQUIRE(from_config);
  CHECK(from_config->username == "owner");
  CHECK(redact("x ghp_secrettoken y") == "x *** y");

  env["SBPIPE_REGISTRY_USERNAME"] = "envuser";
  CHECK(resolve_credentials("ghcr.io", sources).error().message() ==
        "SBPIPE_REGISTRY_USERNAME and SBPIPE_REGISTRY_PASSWORD go together");
  env["SBPIPE_REGISTRY_PASSWORD"] = "envpass";
  CHECK(resolve_credentials("ghcr.io", sources)->username == "envuser");

  write_file(dir / "pw", "filepass\n");
  CredentialSources flags{"flaguser", dir / "pw", getenv};
  auto from_flags = resolve_credentials("ghcr.io", flags);
  CHECK(from_flags->password == "filepass");
  CredentialSources half{"flaguser", std::nullopt, getenv};
  CHECK(resolve_credentials("ghcr.io", half).error().kind() == ErrorKind::usage);

  write_file(dir / "config.json", "{not json");
  env.erase("SBPIPE_REGISTRY_USERNAME");
  env.erase("SBPIPE_REGISTRY_PASSWORD");
  CHECK(resolve_credentials("ghcr.io", sources).error().kind() == ErrorKind::config);
  TEST_clear_secrets();
}

TEST_CASE("docker config: the path, the helper for a registry, and a saved login") {
  auto env = [](std::map<std::string, std::string> values) {
    return [values](const char* name) -> std::optional<std::string> {
      auto it = values.find(name);
      if (it == values.end()) return std::nullopt;
      return it->second;
    };
  };
  CHECK(docker_config_path("/a/auth.json", env({{"DOCKER_CONFIG", "/d"}})) == std::filesystem::path("/a/auth.json"));
  CHECK(docker_config_path("", env({{"DOCKER_CONFIG", "/d"}, {"HOME", "/h"}})) == std::filesystem::path("/d/config.json"));
  CHECK(docker_config_path("", env({{"HOME", "/h"}})) == std::filesystem::path("/h/.docker/config.json"));
  CHECK(docker_config_path("", env({})) == std::nullopt);

  auto config = nlohmann::json::parse(R"({"credsStore":"pass","credHelpers":{"ghcr.io":"gh"}})");
  CHECK(credential_helper_for(config, "ghcr.io") == "gh");
  CHECK(credential_helper_for(config, "quay.io") == "pass");
  CHECK(credential_helper_for(nlohmann::json::object(), "quay.io") == "");
  CHECK(auths_key("docker.io") == "https://index.docker.io/v1/");
  CHECK(auths_key("127.0.0.1:5000") == "127.0.0.1:5000");

  TempDir dir;
  auto path = dir / "sub" / "config.json";
  auto saved = save_docker_login(path, "ghcr.io", Credentials{"me", "pw"});
  REQUIRE(saved);
  CHECK(saved->helper.empty());
  write_file(path, R"({"auths":{"ghcr.io":{"auth":"old","email":"x@y"},"quay.io":{"auth":"cTpx"}},"detachKeys":"ctrl-x"})");
  REQUIRE(save_docker_login(path, "ghcr.io", Credentials{"me", "pw"}));
  auto json = nlohmann::json::parse(read_file(path));
  CHECK(json["auths"]["ghcr.io"] == nlohmann::json{{"auth", "bWU6cHc="}, {"email", "x@y"}});
  CHECK(json["auths"]["quay.io"]["auth"] == "cTpx");
  CHECK(json["detachKeys"] == "ctrl-x");

  write_file(path, "{not json");
  auto broken = save_docker_login(path, "ghcr.io", Credentials{"me", "pw"});
  REQUIRE_FALSE(broken);
  CHECK(broken.error().message() == "docker config " + path.string() + ": not valid JSON");
  CHECK(read_file(path) == "{not json");
}

}  // TEST_SUITE("unit")

// push-installer against the real docker-registry, read back with skopeo.

#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <thread>

#include "integration/machine_output.h"
#include "integration/push_helpers.h"
#include "support/fault_proxy.h"
#include "support/registry_server.h"

using namespace sbpipe::test;
using nlohmann::json;

namespace {

struct Fixture {
  TempDir dir;
  std::vector<TestLayer> layers = installer_layers("amd64", true, 42);
  std::string config = config_json("amd64", layers);
  std::filesystem::path tarball = dir / "installer-amd64-secureboot.tar";
  Fixture() { write_tar(tarball, docker_save_members(layers, config)); }
};

// Every pushed layer equals the local stored bytes, byte for byte.
void check_layers_match(const std::map<std::string, std::string>& pulled, const std::vector<TestLayer>& layers) {
  for (const auto& l : layers) {
    auto it = pulled.find(l.stored_hex());
    REQUIRE_MESSAGE(it != pulled.end(), "layer " << l.stored_hex() << " missing from the pull");
    CHECK(it->second == l.stored);
  }
}

}  // namespace

TEST_SUITE("integration") {

TEST_CASE("push-installer: docker-save with gzip layers is pushed byte for byte") {
  LocalRegistry registry;
  Fixture f;
  auto r = push({f.tarball.string()}, registry.host() + "/test/installer:v1.9.0",
                {"--digest-file", (f.dir / "digest").string(), "--annotation", "org.opencontainers.image.revision=abc123"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  auto raw = skopeo_raw(registry.host() + "/test/installer:v1.9.0");
  std::string digest = "sha256:" + sha256_hex(raw);
  CHECK(r.out == registry.host() + "/test/installer@" + digest + "\n");
  CHECK(read_file(f.dir / "digest") == digest + "\n");
  auto manifest = json::parse(raw);
  CHECK(manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json");
  CHECK(manifest["annotations"]["org.opencontainers.image.revision"] == "abc123");
  CHECK(manifest["layers"].size() == 2);
  CHECK(manifest["layers"][0]["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip");
  auto pulled = skopeo_pull(registry.host() + "/test/installer:v1.9.0", f.dir / "pulled");
  check_layers_match(pulled, f.layers);
  CHECK(pulled.at(sha256_hex(f.config)) == f.config);
}

TEST_CASE("push-installer: uncompressed layers are compressed while streaming, diff_ids kept") {
  LocalRegistry registry;
  TempDir dir;
  auto layers = installer_layers("amd64", false, 7);
  auto config = config_json("amd64", layers);
  write_tar(dir / "plain.tar", docker_save_members(layers, config));

  SUBCASE("gzip (default)") {
    auto r = push({(dir / "plain.tar").string()}, registry.host() + "/test/plain:v1");
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    auto manifest = json::parse(skopeo_raw(registry.host() + "/test/plain:v1"));
    auto pulled = skopeo_pull(registry.host() + "/test/plain:v1", dir / "pulled");
    for (size_t i = 0; i < layers.size(); ++i) {
      CHECK(manifest["layers"][i]["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip");
      std::string hex = manifest["layers"][i]["digest"].get<std::string>().substr(7);
      std::string blob = pulled.at(hex);
      CHECK(sha256_hex(blob) == hex);
      CHECK(gunzip_bytes(blob) == layers[i].tar);  // diff_id preserved
    }
    CHECK(pulled.at(sha256_hex(config)) == config);
  }
  SUBCASE("zstd") {
    auto r = push({(dir / "plain.tar").string()}, registry.host() + "/test/plain:zstd", {"--compression", "zstd"});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    auto manifest = json::parse(skopeo_raw(registry.host() + "/test/plain:zstd"));
    CHECK(manifest["layers"][0]["mediaType"] == "application/vnd.oci.image.layer.v1.tar+zstd");
    auto pulled = skopeo_pull(registry.host() + "/test/plain:zstd", dir / "pulled-zstd");
    for (size_t i = 0; i < layers.size(); ++i) {
      std::string hex = manifest["layers"][i]["digest"].get<std::string>().substr(7);
      const std::string& blob = pulled.at(hex);
      CHECK(sha256_hex(blob) == hex);
      CHECK(blob.substr(0, 4) == std::string("\x28\xb5\x2f\xfd", 4));
    }
  }
  SUBCASE("none") {
    auto r = push({(dir / "plain.tar").string()}, registry.host() + "/test/plain:none", {"--compression", "none"});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    auto pulled = skopeo_pull(registry.host() + "/test/plain:none", dir / "pulled-none");
    for (const auto& l : layers) CHECK(pulled.at(l.diff_id_hex()) == l.tar);
  }
}

TEST_CASE("push-installer: OCI layouts (directory, and a tarball made by skopeo) keep their manifest digest") {
  LocalRegistry registry;
  Fixture f;
  SUBCASE("directory") {
    std::string manifest_hex = write_oci_layout(f.dir / "layout", f.layers, f.config);
    auto r = push({(f.dir / "layout").string()}, registry.host() + "/test/oci:v1");
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    CHECK(r.out == registry.host() + "/test/oci@sha256:" + manifest_hex + "\n");
    check_layers_match(skopeo_pull(registry.host() + "/test/oci:v1", f.dir / "pulled"), f.layers);
  }
  SUBCASE("oci-archive written by skopeo") {
    auto made = run({"skopeo", "copy", "docker-archive:" + f.tarball.string(), "oci-archive:" + (f.dir / "oci.tar").string()});
    REQUIRE_MESSAGE(made.exit_code == 0, made.err);
    auto r = push({(f.dir / "oci.tar").string()}, registry.host() + "/test/oci:archive");
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    auto raw = skopeo_raw(registry.host() + "/test/oci:archive");
    CHECK(r.out == registry.host() + "/test/oci@sha256:" + sha256_hex(raw) + "\n");
    // The manifest pushed is the one skopeo wrote into the archive.
    auto back = run({"skopeo", "inspect", "--raw", "oci-archive:" + (f.dir / "oci.tar").string()});
    CHECK(back.out == raw);
  }
}

TEST_CASE("push-installer: two architectures make an OCI index with platforms and per-arch tags") {
  LocalRegistry registry;
  TempDir dir;
  auto amd = installer_layers("amd64", true, 1);
  auto arm = installer_layers("arm64", true, 2);
  write_tar(dir / "amd64.tar", docker_save_members(amd, config_json("amd64", amd)));
  write_tar(dir / "arm64.tar", docker_save_members(arm, config_json("arm64", arm)));
  auto r = push({(dir / "amd64.tar").string(), (dir / "arm64.tar").string()}, registry.host() + "/test/multi:v1");
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  auto index = json::parse(skopeo_raw(registry.host() + "/test/multi:v1"));
  CHECK(index["mediaType"] == "application/vnd.oci.image.index.v1+json");
  REQUIRE(index["manifests"].size() == 2);
  CHECK(index["manifests"][0]["platform"]["architecture"] == "amd64");
  CHECK(index["manifests"][1]["platform"]["architecture"] == "arm64");
  CHECK(index["manifests"][1]["platform"]["os"] == "linux");
  auto arm_manifest = skopeo_raw(registry.host() + "/test/multi:v1-arm64");
  CHECK("sha256:" + sha256_hex(arm_manifest) == index["manifests"][1]["digest"]);
  check_layers_match(skopeo_pull(registry.host() + "/test/multi:v1", dir / "arm", {"--override-arch", "arm64"}), arm);
  CHECK(manifest_status(registry.host(), "test/multi", "v1-amd64") == "200");
}

TEST_CASE("push-installer: an unchanged re-push uploads nothing") {
  LocalRegistry registry;
  FaultProxy proxy(registry.port());
  Fixture f;
  std::string ref = "127.0.0.1:" + std::to_string(proxy.port()) + "/test/installer:v1";
  auto first = push({f.tarball.string()}, ref);
  REQUIRE_MESSAGE(first.exit_code == 0, first.err);
  CHECK(proxy.count("PUT", "/blobs/uploads/") == 3);  // two layers and the config
  auto before = proxy.log().size();
  auto second = push({f.tarball.string()}, ref);
  REQUIRE_MESSAGE(second.exit_code == 0, second.err);
  CHECK(second.out == first.out);
  auto as_json = push({f.tarball.string()}, ref, {"-o", "json"});
  REQUIRE_MESSAGE(as_json.exit_code == 0, as_json.err);
  check_machine_output("push-installer", as_json.out);
  CHECK(nlohmann::json::parse(as_json.out)["ref"].get<std::string>() + "\n" == first.out);
  CHECK(second.err.find("nothing to push") != std::string::npos);
  auto log = proxy.log();
  std::vector<std::string> later(log.begin() + static_cast<long>(before), log.end());
  for (const auto& line : later) {
    bool read_only = line.rfind("GET /v2/ ", 0) == 0 || line.rfind("HEAD ", 0) == 0;
    CHECK_MESSAGE(read_only, line);
  }
  // A new tag for the same image: blobs are only HEADed, never uploaded again.
  auto retag = push({f.tarball.string()}, "127.0.0.1:" + std::to_string(proxy.port()) + "/test/installer:v1-copy");
  REQUIRE_MESSAGE(retag.exit_code == 0, retag.err);
  CHECK(proxy.count("PUT", "/blobs/uploads/") == 3);
  CHECK(proxy.count("POST", "/blobs/uploads/") == 3);
}

TEST_CASE("push-installer: Basic auth with htpasswd") {
  TempDir dir;
  auto hashed = run({"htpasswd", "-Bbn", "builder", "s3cret-pass"});
  REQUIRE(hashed.exit_code == 0);
  write_file(dir / "htpasswd", hashed.out);
  LocalRegistry registry({false, (dir / "htpasswd").string(), ""});
  Fixture f;
  std::string ref = registry.host() + "/test/installer:v1";

  SUBCASE("credentials from the environment; at debug level every request is shown, never a credential") {
    auto r = push({f.tarball.string()}, ref, {"--log-level", "debug"},
                  {{"SBPIPE_REGISTRY_USERNAME", "builder"}, {"SBPIPE_REGISTRY_PASSWORD", "s3cret-pass"}});
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    // What crane -v shows: each request with its answer (the 401 that asks for Basic, then the
    // upload's blob PUT and the tag's manifest PUT, each 201).
    CHECK_MESSAGE(r.err.find("http: GET http://" + registry.host() + "/v2/ -> 401 (") != std::string::npos, r.err);
    CHECK(r.err.find("http: PUT http://" + registry.host() + "/v2/test/installer/manifests/v1 -> 201 (") != std::string::npos);
    CHECK(r.err.find("/v2/test/installer/blobs/uploads/") != std::string::npos);
    CHECK(r.err.find("s3cret-pass") == std::string::npos);
    CHECK(r.err.find("YnVpbGRlcjpzM2NyZXQtcGFzcw") == std::string::npos);  // builder:s3cret-pass in base64
  }
  SUBCASE("credentials from docker config.json") {
    std::string auth = run({"sh", "-c", "printf builder:s3cret-pass | base64"}).out;
    auth.erase(auth.find_last_not_of('\n') + 1);
    write_file(dir / "docker" / "config.json", "{\"auths\":{\"" + registry.host() + "\":{\"auth\":\"" + auth + "\"}}}");
    auto r = push({f.tarball.string()}, ref, {}, {{"DOCKER_CONFIG", (dir / "docker").string()}});
    CHECK_MESSAGE(r.exit_code == 0, r.err);
  }
  SUBCASE("wrong password: clear error, no secret printed, nothing tagged") {
    write_file(dir / "pw", "not-the-password-42\n");
    auto r = push({f.tarball.string()}, ref, {"--username", "builder", "--password-file", (dir / "pw").string()});
    check_one_line_error(r, "refused the credentials");
    CHECK(r.err.find("not-the-password-42") == std::string::npos);
    CHECK(manifest_status(registry.host(), "test/installer", "v1") == "401");
  }
  SUBCASE("no credentials") {
    auto r = push({f.tarball.string()}, ref, {}, {{"HOME", dir.path().string()}});
    check_one_line_error(r, "requires credentials");
  }
}

TEST_CASE("push-installer: Bearer token challenge (registry 'silly' auth and a token endpoint)") {
  httplib::Server tokens;
  std::vector<std::string> scopes;
  std::string authorization;
  std::mutex mutex;
  tokens.Get("/token", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mutex);
    authorization = req.get_header_value("Authorization");
    for (size_t i = 0; i < req.get_param_value_count("scope"); ++i) scopes.push_back(req.get_param_value("scope", i));
    if (req.get_param_value("service") != "sbpipe-test-registry") {
      res.status = 400;
      return;
    }
    // No expires_in: the client must assume 60 s. "access_token" only, as some servers do.
    res.set_content("{\"access_token\":\"tok-abcdef-123456\"}", "application/json");
  });
  int token_port = tokens.bind_to_any_port("127.0.0.1");
  std::thread server([&] { tokens.listen_after_bind(); });
  {
    LocalRegistry registry({false, "", "http://127.0.0.1:" + std::to_string(token_port) + "/token"});
    Fixture f;
    write_file(f.dir / "pw", "bearer-pass-xyz");
    auto r = push({f.tarball.string()}, registry.host() + "/test/installer:v1",
                  {"--username", "robot", "--password-file", (f.dir / "pw").string(), "--log-level", "debug"});
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    CHECK(r.err.find("tok-abcdef-123456") == std::string::npos);
    std::lock_guard lock(mutex);
    CHECK(authorization == "Basic " + std::string("cm9ib3Q6YmVhcmVyLXBhc3MteHl6"));  // robot:bearer-pass-xyz
    CHECK(std::find(scopes.begin(), scopes.end(), "repository:test/installer:pull,push") != scopes.end());
  }
  tokens.stop();
  server.join();
}

TEST_CASE("push-installer: relative Location headers") {
  LocalRegistry registry({true, "", ""});
  Fixture f;
  auto r = push({f.tarball.string()}, registry.host() + "/test/installer:rel");
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  check_layers_match(skopeo_pull(registry.host() + "/test/installer:rel", f.dir / "pulled"), f.layers);
}

TEST_CASE("push-installer: bad input is a one-line error and tags nothing") {
  LocalRegistry registry;
  Fixture f;
  std::string ref = registry.host() + "/test/bad:v1";
  auto members = docker_save_members(f.layers, f.config);
  auto bad = f.dir / "bad.tar";
  std::string needle;

  SUBCASE("not a tar") {
    write_file(bad, "this is not a tar archive, just text\n");
    needle = "not a tar archive";
  }
  SUBCASE("digest in name differs from content") {
    members[2].second[members[2].second.size() / 2] ^= 0x55;
    write_tar(bad, members);
    needle = "not the sha256:" + f.layers[1].stored_hex();
  }
  SUBCASE("truncated layer") {
    std::swap(members.front(), members.back());  // manifest.json first, last layer last
    write_tar(bad, members);
    std::string bytes = read_file(bad);
    write_file(bad, bytes.substr(0, bytes.size() - 300000));
    needle = "runcated";
  }
  SUBCASE("manifest.json missing") {
    members.pop_back();
    write_tar(bad, members);
    needle = "no manifest.json";
  }
  SUBCASE("manifest.json names an absent file") {
    members.erase(members.begin() + 1);
    write_tar(bad, members);
    needle = "which is not in the archive";
  }
  SUBCASE("config diff_ids do not match the layers") {
    auto other = installer_layers("amd64", true, 99);
    std::string wrong_config = config_json("amd64", {f.layers[0], other[1]});
    members = docker_save_members(f.layers, wrong_config);
    write_tar(bad, members);
    needle = "rootfs.diff_ids says sha256:" + other[1].diff_id_hex();
  }
  SUBCASE("input does not exist") {
    bad = f.dir / "missing.tar";
    needle = "no such file";
  }
  auto r = push({bad.string()}, ref);
  check_one_line_error(r, needle);
  CHECK(r.err.find(bad.filename().string()) != std::string::npos);
  CHECK(manifest_status(registry.host(), "test/bad", "v1") == "404");
}

TEST_CASE("push-installer: transport faults are retried from HEAD; persistent ones fail cleanly") {
  LocalRegistry registry;
  FaultProxy proxy(registry.port());
  Fixture f;
  std::string host = "127.0.0.1:" + std::to_string(proxy.port());
  std::string big = f.layers[1].stored_hex();

  SUBCASE("connection dropped mid-blob, 503 and 429 once each") {
    proxy.add_rule({"PUT", "/blobs/uploads/", FaultRule::Action::drop_mid_body, 0, "", 100000, 1});
    proxy.add_rule({"PUT", "/blobs/uploads/", FaultRule::Action::respond, 503, "", 0, 1});
    proxy.add_rule({"POST", "/blobs/uploads/", FaultRule::Action::respond, 429, "Retry-After: 1\r\n", 0, 1});
    auto r = push({f.tarball.string()}, host + "/test/faults:v1");
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    CHECK(r.err.find("retrying") != std::string::npos);
    check_layers_match(skopeo_pull(registry.host() + "/test/faults:v1", f.dir / "pulled"), f.layers);
    CHECK(proxy.count("PUT", "/blobs/uploads/") == 5);  // three blobs plus two faulted tries
  }
  SUBCASE("503 forever") {
    proxy.add_rule({"PUT", "/blobs/uploads/", FaultRule::Action::respond, 503, "", 0, -1});
    auto r = push({f.tarball.string()}, host + "/test/faults:v1", {"--retries", "3", "--jobs", "2"});
    // Two layers at once, one count: it goes on from one failing step to the next, never back to 1.
    auto count = [&](const std::string& text) {
      size_t n = 0;
      for (size_t at = r.err.find(text); at != std::string::npos; at = r.err.find(text, at + 1)) ++n;
      return n;
    };
    CHECK_MESSAGE(count("attempt 1 of 3 failed") == 1, r.err);
    CHECK(count("attempt 2 of 3 failed") == 1);
    check_one_line_error(r, "HTTP 503");
    CHECK(r.err.find("registry " + host + "/test/faults") != std::string::npos);
    CHECK(r.err.find("gave up after 3 tries") != std::string::npos);
    // What the owner needs next: the tag did not move, and a re-run resumes.
    CHECK(r.err.find("; " + host +
                     "/test/faults:v1 was not moved (it names what it named before), and a re-run pushes only what the "
                     "registry is missing") != std::string::npos);
    CHECK(manifest_status(registry.host(), "test/faults", "v1") == "404");
    CHECK(proxy.count("PUT", "/manifests/") == 0);
  }
}

}  // TEST_SUITE("integration")

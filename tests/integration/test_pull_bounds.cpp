// Issue 30: pulling the previous release (verify --previous-ref, run's
// continuity check) is bounded by what the descriptors say, by a count of
// index entries and a total, and by a deadline; tags and indexes that do not
// parse are errors, never internal ones. Against a hostile registry on
// loopback (cpp-httplib) that serves the OCI distribution API's GET routes
// (opencontainers/distribution-spec spec.md, "Pulling manifests", "Pulling
// blobs") and lies in one way per case.

#include <doctest/doctest.h>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "integration/push_helpers.h"
#include "support/secureboot_fixtures.h"

namespace sbpipe::test {
namespace {

using json = nlohmann::json;

// The registry: one repository, owner/installer.
class PullRegistry {
public:
  std::string config =
      R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:)" + std::string(64, 'a') + R"("]}})";
  std::string manifest;                          // served for every tag
  std::map<std::string, std::string> by_digest;  // manifests by "sha256:..."
  std::vector<std::string> tags;
  uint64_t blob_bytes = 0;        // what the layer blob streams
  int trickle_ms = 0;             // a pause between its 2 KiB pieces
  std::atomic<uint64_t> sent{0};  // layer bytes handed to the socket
  std::atomic<int> manifest_gets{0};

  PullRegistry() {
    m_server.Get("/v2/", [](const httplib::Request&, httplib::Response& res) { res.set_content("{}", "application/json"); });
    m_server.Get(R"(/v2/owner/installer/tags/list)", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(json{{"name", "owner/installer"}, {"tags", tags}}.dump(), "application/json");
    });
    auto manifests = [this](const httplib::Request& req, httplib::Response& res) {
      ++manifest_gets;
      std::string ref = req.matches[1];
      std::string body = ref.starts_with("sha256:") ? (by_digest.contains(ref) ? by_digest[ref] : "") : manifest;
      if (body.empty()) {
        res.status = 404;
        res.set_content(R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})", "application/json");
        return;
      }
      auto doc = json::parse(body, nullptr, false);
      std::string type = doc.is_object() && doc.contains("mediaType") ? doc["mediaType"].get<std::string>()
                                                                      : "application/vnd.oci.image.manifest.v1+json";
      res.set_header("Docker-Content-Digest", "sha256:" + sha256_hex(body));
      res.set_content(body, type);
    };
    m_server.Get(R"(/v2/owner/installer/manifests/([^/]+))", manifests);
    m_server.Get(R"(/v2/owner/installer/blobs/(sha256:[0-9a-f]+))", [this](const httplib::Request& req, httplib::Response& res) {
      if (req.matches[1] == config_digest()) return res.set_content(config, "application/octet-stream");
      res.set_content_provider(blob_bytes, "application/octet-stream",
                               [this](size_t offset, size_t length, httplib::DataSink& sink) {
                                 if (trickle_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(trickle_ms));
                                 std::string piece(std::min<size_t>(length, trickle_ms > 0 ? 2048 : 1 << 20), '\0');
                                 (void)offset;
                                 if (!sink.write(piece.data(), piece.size())) return false;
                                 sent += piece.size();
                                 return true;
                               });
    });
    m_port = m_server.bind_to_any_port("127.0.0.1");
    m_thread = std::thread([this] { m_server.listen_after_bind(); });
  }
  ~PullRegistry() {
    m_server.stop();
    m_thread.join();
  }
  std::string config_digest() const { return "sha256:" + sha256_hex(config); }
  std::string host() const { return "127.0.0.1:" + std::to_string(m_port); }
  // An image manifest naming one layer of `size` bytes.
  std::string image_manifest(uint64_t size) const {
    return json{
        {"schemaVersion", 2},
        {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
        {"config",
         {{"mediaType", "application/vnd.oci.image.config.v1+json"}, {"digest", config_digest()}, {"size", config.size()}}},
        {"layers",
         {{{"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"},
           {"digest", "sha256:" + std::string(64, 'b')},
           {"size", size}}}}}
        .dump();
  }

private:
  httplib::Server m_server;
  int m_port = 0;
  std::thread m_thread;
};

// A signed installer to verify: continuity is checked against the registry.
struct Build {
  TempDir dir;
  KeyPair keys;
  fs::path installer;
  Build() {
    keys = make_key_pair(dir.path(), "uki", "Pull Owner");
    fs::path unsigned_uki = dir / "uki-unsigned.efi", uki = dir / "uki.efi", sdboot = dir / "sdboot.efi";
    build_uki(unsigned_uki, UkiSpec{}, dir / "build");
    sbsign(unsigned_uki, uki, keys);
    sbsign(k_systemd_boot, sdboot, keys);
    installer = dir / "installer.tar";
    write_installer(installer, uki, sdboot, "amd64", true);
  }
  RunResult verify(const std::string& previous, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"verify",         installer.string(), "--cert",      keys.cert.string(),
                                  "--previous-ref", previous,           "--plain-http"};
    args.insert(args.end(), extra.begin(), extra.end());
    return sbpipe(args);
  }
};

Build& build() {
  static Build b;
  return b;
}

}  // namespace

TEST_SUITE("integration") {

TEST_CASE("issue 30: a blob longer than its descriptor is cut off at the descriptor's size, before any digest check") {
  PullRegistry registry;
  registry.manifest = registry.image_manifest(1024);
  registry.blob_bytes = uint64_t{256} << 20;  // 256 MiB offered for a 1 KiB layer
  auto r = build().verify(registry.host() + "/owner/installer:v0.9.0");
  CHECK(r.exit_code == 1);
  CHECK_MESSAGE(r.err.find("registry " + registry.host() +
                           "/owner/installer: blob sha256:bbbbbbbbbbbb is larger than the 1024 "
                           "bytes its descriptor gives; not read further") != std::string::npos,
                r.err);
  CHECK_MESSAGE(registry.sent.load() < (uint64_t{32} << 20), registry.sent.load() << " bytes were sent");
}

TEST_CASE("issue 30: an index listing more manifests than sbpipe reads is refused before any is fetched") {
  PullRegistry registry;
  json index{{"schemaVersion", 2}, {"mediaType", "application/vnd.oci.image.index.v1+json"}, {"manifests", json::array()}};
  for (int i = 0; i < 3000; ++i)
    index["manifests"].push_back({{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                                  {"digest", "sha256:" + sha256_hex(std::to_string(i))},
                                  {"size", 500},
                                  {"platform", {{"os", "linux"}, {"architecture", "amd64"}}}});
  registry.manifest = index.dump();
  auto r = build().verify(registry.host() + "/owner/installer:v0.9.0");
  CHECK(r.exit_code == 1);
  CHECK_MESSAGE(r.err.find("registry " + registry.host() +
                           "/owner/installer: index v0.9.0 lists 3000 manifests, more than the 32 "
                           "sbpipe reads") != std::string::npos,
                r.err);
  CHECK(registry.manifest_gets.load() == 1);
  // Descriptors whose sizes add up past the total are refused before a layer is fetched.
  registry.manifest = registry.image_manifest(uint64_t{64} << 30);
  auto big = build().verify(registry.host() + "/owner/installer:v0.9.0");
  CHECK(big.exit_code == 1);
  CHECK_MESSAGE(big.err.find("more than the 4294967296 sbpipe pulls") != std::string::npos, big.err);
  CHECK(registry.sent.load() == 0);
}

TEST_CASE("issue 30: a pull trickling at 2 KiB/s ends at its deadline with an error naming the registry") {
  PullRegistry registry;
  registry.manifest = registry.image_manifest(uint64_t{1} << 20);
  registry.blob_bytes = uint64_t{1} << 20;
  registry.trickle_ms = 1000;
  auto start = std::chrono::steady_clock::now();
  auto r = build().verify(registry.host() + "/owner/installer:v0.9.0", {"--previous-timeout-ms", "3000"});
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(r.exit_code == 1);
  CHECK_MESSAGE(r.err.find("registry " + registry.host() + "/owner/installer: the pull of v0.9.0 (limit 3 s) ran out of time") !=
                    std::string::npos,
                r.err);
  CHECK(took < std::chrono::seconds(60));  // not a speed assertion: the 1 MiB trickle would take 8 min
}

TEST_CASE("issue 30: tags too large for a number and malformed indexes are ordinary errors, never internal ones") {
  PullRegistry registry;
  registry.tags = {"v99999999999999999999.0.0", "v0.9.0", "latest"};
  // The highest version tag below the build's is v0.9.0; the huge one is no version at all.
  auto picked = build().verify(registry.host() + "/owner/installer");
  CHECK(picked.exit_code == 1);
  CHECK_MESSAGE(picked.err.find("internal error") == std::string::npos, picked.err);
  CHECK_MESSAGE(picked.err.find("owner/installer:v0.9.0") != std::string::npos, picked.err);
  // An index entry whose platform is not an object, and one without a size.
  registry.manifest = R"({"schemaVersion":2,"manifests":[{"digest":"sha256:)" + std::string(64, 'c') +
                      R"(","size":10,"platform":"linux/amd64"}]})";
  auto odd = build().verify(registry.host() + "/owner/installer:v0.9.0");
  CHECK(odd.exit_code == 1);
  CHECK_MESSAGE(odd.err.find("internal error") == std::string::npos, odd.err);
  registry.manifest = R"({"schemaVersion":2,"manifests":[{"digest":"sha256:)" + std::string(64, 'c') + R"("}]})";
  auto sizeless = build().verify(registry.host() + "/owner/installer:v0.9.0");
  CHECK(sizeless.exit_code == 1);
  CHECK_MESSAGE(sizeless.err.find("a descriptor without a digest or size") != std::string::npos, sizeless.err);
}

}  // TEST_SUITE("integration")

}  // namespace sbpipe::test

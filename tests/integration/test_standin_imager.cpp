// The stand-in imager (scripts/standin-imager) against its contract: it
// accepts the command lines `sbpipe plan` writes, and what it writes passes
// the same steps a real imager's output goes through (verify, pxe-extract,
// push-installer); unsigned or wrongly signed output is stopped by verify.

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "integration/push_helpers.h"
#include "support/registry_server.h"
#include "support/secureboot_fixtures.h"

namespace sbpipe::test {
namespace {

const std::string kStandin = std::string(SBPIPE_SOURCE_DIR) + "/scripts/standin-imager";

struct StandinRun {
  TempDir dir;
  fs::path keys = dir / "keys";
  fs::path out = dir / "out";

  StandinRun() {
    fs::create_directories(keys);
    must_run({"openssl", "genrsa", "-traditional", "-out", (keys / "uki-signing-key.pem").string(), "2048"});
    must_run({"openssl", "req", "-x509", "-key", (keys / "uki-signing-key.pem").string(), "-out",
              (keys / "uki-signing-cert.pem").string(), "-days", "30", "-subj", "/CN=Owner UKI"});
  }

  // Runs every invocation of the default plan through the stand-in.
  void build(const std::string& sign = "good") {
    auto plan = sbpipe({"plan", "--version", "v1.9.0", "--format", "argo"});
    REQUIRE(plan.exit_code == 0);
    for (const auto& inv : nlohmann::json::parse(plan.out)) {
      std::vector<std::string> argv{kStandin};
      for (const auto& a : inv["args"]) argv.push_back(a.get<std::string>() == "/out" ? out.string() : a.get<std::string>());
      argv.insert(argv.end(), {"--keys", keys.string()});
      auto r = run(argv, {{"STANDIN_VERSION", "v1.9.0"}, {"STANDIN_SIGN", sign}});
      REQUIRE_MESSAGE(r.exit_code == 0, inv["name"].get<std::string>() << ": " << r.err);
      CHECK(fs::exists(out / inv["output_file"].get<std::string>()));
    }
  }

  RunResult verify() {
    return sbpipe({"verify", (out / "installer-amd64-secureboot.tar").string(), (out / "metal-amd64-secureboot.iso").string(),
                   "--cert", (keys / "uki-signing-cert.pem").string()});
  }
};

} // namespace

TEST_SUITE("integration") {

TEST_CASE("stand-in imager: plan's command lines in, outputs that pass verify, pxe-extract and push-installer out") {
  StandinRun s;
  s.build();
  auto verified = s.verify();
  CHECK_MESSAGE(verified.exit_code == 0, verified.out << verified.err);
  CHECK(verified.out.find("EFI/Linux/Talos-v1.9.0.efi") != std::string::npos);
  CHECK(verified.out.find("usr/install/amd64/vmlinuz.efi") != std::string::npos);

  auto pxe = sbpipe({"pxe-extract", (s.out / "metal-amd64.iso").string(), "--out", (s.dir / "pxe").string()});
  CHECK_MESSAGE(pxe.exit_code == 0, pxe.err);
  CHECK(fs::file_size(s.dir / "pxe" / "vmlinuz-amd64") == 4u << 20);

  LocalRegistry registry;
  auto pushed = push({(s.out / "installer-amd64-secureboot.tar").string()}, registry.host() + "/owner/installer:v1.9.0");
  REQUIRE_MESSAGE(pushed.exit_code == 0, pushed.err);
  auto raw = skopeo_raw(registry.host() + "/owner/installer:v1.9.0");
  CHECK(raw.find("application/vnd.oci.image.manifest.v1+json") != std::string::npos);
}

TEST_CASE("stand-in imager: unsigned or wrongly signed output is stopped by verify") {
  for (const std::string mode : {"none", "wrong"}) {
    StandinRun s;
    s.build(mode);
    auto verified = s.verify();
    CHECK_MESSAGE(verified.exit_code == 1, mode);
    CHECK(verified.out.find("FAIL") != std::string::npos);
  }
}

}

} // namespace sbpipe::test

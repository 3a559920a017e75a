// Issue 30, the low ones, through the binary: what reaches a terminal or a
// log from outside is escaped (ESC, OSC 52, C1), JSON output carries names
// that are not UTF-8, credential helpers are bounded in time and output,
// their stderr redacted and a helper that leaves early does not take sbpipe
// with it (SIGPIPE), and kubeconfig files are merged as client-go merges
// them (kubectl is the judge of what it refuses).

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <sys/stat.h>

#include <chrono>

#include "integration/push_helpers.h"
#include "support/kube_standin.h"
#include "support/registry_server.h"
#include "support/secureboot_fixtures.h"

namespace sbpipe::test {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// A signed installer whose architecture directory has the name `arch`.
struct Installer {
  TempDir dir;
  KeyPair keys;
  fs::path uki, sdboot;
  Installer() {
    keys = make_key_pair(dir.path(), "uki", "Output Owner");
    fs::path unsigned_uki = dir / "uki-unsigned.efi";
    uki = dir / "uki.efi";
    sdboot = dir / "sdboot.efi";
    build_uki(unsigned_uki, UkiSpec{}, dir / "build");
    sbsign(unsigned_uki, uki, keys);
    sbsign(k_systemd_boot, sdboot, keys);
  }
  fs::path write(const std::string& name, const std::string& arch) {
    auto layers = std::vector<TestLayer>{make_layer({{"usr/bin/installer", "installer"}}, true),
                                         make_layer({{"usr/install/" + arch + "/vmlinuz.efi", read_file(uki)},
                                                     {"usr/install/" + arch + "/systemd-boot.efi", read_file(sdboot)}},
                                                    true)};
    fs::path out = dir / name;
    write_tar(out, docker_save_members(layers, config_json("amd64", layers)));
    return out;
  }
};

Installer& installer() {
  static Installer i;
  return i;
}

// Raw C0 controls (but newline and tab), DEL, C1 controls in UTF-8 (C2 80
// to C2 9F), or a lone byte 0x80-0x9f after ASCII (C1 to an 8-bit terminal).
bool has_raw_controls(const std::string& text) {
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    auto prev = i == 0 ? 0 : static_cast<unsigned char>(text[i - 1]);
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) return true;
    if (c >= 0x80 && c <= 0x9f && (prev < 0x80 || prev == 0xc2)) return true;
  }
  return false;
}

}  // namespace

TEST_SUITE("integration") {

TEST_CASE("issue 30: member names with ESC, OSC 52 and C1 controls are escaped in verify's table and the log") {
  // ESC [31m (colour), OSC 52 (set the clipboard), a lone 0x9b (CSI in
  // 8-bit terminals) and U+009B (CSI as UTF-8).
  const std::string arch =
      "x\x1b[31m\x1b]52;c;cm0gLXJmIH4=\x07\x9b"
      "1m\xc2\x9b"
      "2J";
  auto path = installer().write("controls.tar", arch);
  auto r = sbpipe({"verify", path.string(), "--cert", installer().keys.cert.string()});
  CHECK_MESSAGE(r.exit_code == 0, r.err);
  CHECK_MESSAGE(!has_raw_controls(r.out), r.out);
  CHECK(r.out.find("usr/install/x\\x1b[31m\\x1b]52;c;cm0gLXJmIH4=\\x07\\x9b1m\\u009b2J/vmlinuz.efi") != std::string::npos);
  // A name that reaches an error message: escaped in the log line too.
  auto missing = sbpipe({"verify",
                         (installer().dir / ("gone\xc2\x9b"
                                             "2J.tar"))
                             .string(),
                         "--cert", installer().keys.cert.string()});
  CHECK(missing.exit_code != 0);
  CHECK_MESSAGE(missing.err.find("gone\\u009b2J.tar") != std::string::npos, missing.err);
  CHECK(missing.err.find("\xc2\x9b") == std::string::npos);
}

TEST_CASE("issue 30: verify -o json carries a member name that is not UTF-8, escaped, instead of an internal error") {
  auto path = installer().write("latin1.tar",
                                "amd\xff"
                                "64");
  auto r = sbpipe({"verify", path.string(), "--cert", installer().keys.cert.string(), "-o", "json"});
  CHECK_MESSAGE(r.exit_code == 0, r.err);
  auto doc = json::parse(r.out, nullptr, false);
  REQUIRE_MESSAGE(!doc.is_discarded(), r.out);
  bool named = false;
  for (const auto& b : doc["binaries"])
    named = named || b["path"].get<std::string>().ends_with("!usr/install/amd\\xff64/vmlinuz.efi");
  CHECK_MESSAGE(named, r.out);
}

TEST_CASE("issue 30: credential helpers get a deadline and an output bound, their stderr is redacted, and SIGPIPE is no crash") {
  TempDir dir;
  LocalRegistry registry;
  auto image = installer().write("helper.tar", "amd64");
  const fs::path bin = dir / "bin";
  fs::create_directories(bin);
  auto helper = [&](const std::string& name, const std::string& script) {
    write_file(bin / ("docker-credential-" + name), "#!/bin/sh\n" + script);
    fs::permissions(bin / ("docker-credential-" + name), fs::perms::owner_all);
  };
  // Says too much, takes too long, fails with a secret and controls on stderr, leaves without reading.
  helper("loud", "head -c 3000000 /dev/zero | tr '\\0' x\n");
  helper("slow", "exec sleep 300\n");
  helper("noisy", "cat >/dev/null; printf 'store failed for %s \\033[31mhidden\\n' \"$(cat \"$0.secret\")\" >&2; exit 4\n");
  write_file(bin / "docker-credential-noisy.secret", "s3cret-token-value-1234");
  helper("early", "exec 0<&-; sleep 1; exit 3\n");
  std::map<std::string, std::string> env{{"DOCKER_CONFIG", (dir / "docker").string()},
                                         {"PATH", bin.string() + ":" + std::getenv("PATH")}};
  auto use = [&](const std::string& helper_name) {
    write_file(dir / "docker" / "config.json", R"({"credsStore":")" + helper_name + "\"}");
  };
  const std::string ref = registry.host() + "/test/installer:v1";

  use("loud");
  auto loud = push({image.string()}, ref, {}, env);
  CHECK(loud.exit_code == 2);
  CHECK_MESSAGE(loud.err.find("docker-credential-loud get answered more than 1048576 bytes; it was stopped") != std::string::npos,
                loud.err);

  use("slow");
  auto start = std::chrono::steady_clock::now();
  auto slow = push({image.string()}, ref, {}, env);
  CHECK(slow.exit_code == 2);
  CHECK_MESSAGE(slow.err.find("docker-credential-slow get gave no answer within 30 s; it was stopped") != std::string::npos,
                slow.err);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(120));  // liveness: the helper sleeps 300 s

  // `registry login` stores the password in the helper (the password is registered as a secret).
  use("noisy");
  std::string password = "s3cret-token-value-1234";
  auto noisy = run({"sh", "-c", "printf %s \"$0\" | \"$1\" registry login \"$2\" -u builder --password-stdin --plain-http",
                    password, sbpipe_binary(), registry.host()},
                   env);
  CHECK(noisy.exit_code == 2);
  CHECK_MESSAGE(noisy.err.find("docker-credential-noisy store " + registry.host() +
                               " failed with exit status 4: store failed for *** \\x1b[31mhidden") != std::string::npos,
                noisy.err);
  CHECK(noisy.err.find(password) == std::string::npos);

  // A password larger than a pipe holds, to a helper that closes its stdin unread.
  use("early");
  write_file(dir / "big-password", std::string(65536, 'p'));  // with the JSON around it, more than a pipe holds
  auto early = run({"sh", "-c", "\"$0\" registry login \"$1\" -u builder --password-stdin --plain-http < \"$2\"", sbpipe_binary(),
                    registry.host(), (dir / "big-password").string()},
                   env);
  CHECK_MESSAGE(early.exit_code == 2, "exit " << early.exit_code << ": " << early.err);
  CHECK_MESSAGE(
      early.err.find("docker-credential-early store " + registry.host() + " failed with exit status 3") != std::string::npos,
      early.err);
}

TEST_CASE("issue 30: a kubeconfig naming a cluster twice is refused as kubectl refuses it; KUBECONFIG lists a file once") {
  KubeStandIn kube;
  TempDir dir;
  std::string twice =
      "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: c\n  cluster: {server: '" + kube.url() +
      "'}\n- name: c\n  cluster: {server: 'https://192.0.2.1:6443'}\ncontexts:\n- name: c\n  context: {cluster: c, "
      "user: u, namespace: ns}\nusers:\n- name: u\n  user: {token: t0123456789}\n";
  write_file(dir / "twice", twice);
  // The judge: kubectl refuses the file.
  auto kubectl = run({"kubectl", "config", "view", "--kubeconfig", (dir / "twice").string()});
  CHECK(kubectl.exit_code != 0);
  CHECK(kubectl.err.find("duplicate name \"c\"") != std::string::npos);
  auto submit = [&](std::vector<std::string> extra, std::map<std::string, std::string> env = {}) {
    std::vector<std::string> args{"submit", "--dry-run", "--release-id", "7", "-R", "owner/talos-build", "--tag", "v1.9.0"};
    args.insert(args.end(), extra.begin(), extra.end());
    env.emplace("KUBERNETES_SERVICE_HOST", "");
    return sbpipe(args, env);
  };
  auto refused = submit({"--kubeconfig", (dir / "twice").string()});
  CHECK(refused.exit_code == 2);
  CHECK_MESSAGE(refused.err.find("kubeconfig " + (dir / "twice").string() +
                                 ": cluster 'c' is named twice (kubectl refuses such a "
                                 "file)") != std::string::npos,
                refused.err);
  // The same file twice in KUBECONFIG is one file (client-go deduplicates the list).
  std::string once = twice.substr(0, twice.find("- name: c\n  cluster: {server: 'https")) + twice.substr(twice.find("contexts:"));
  write_file(dir / "once", once);
  std::string list = (dir / "once").string() + ":" + (dir / "once").string();
  auto unknown = submit({"--context", "nope"}, {{"KUBECONFIG", list}});
  CHECK(unknown.exit_code == 2);
  CHECK_MESSAGE(unknown.err.find("kubeconfig " + (dir / "once").string() + ": context 'nope' not found") != std::string::npos,
                unknown.err);
}

}  // TEST_SUITE("integration")

}  // namespace sbpipe::test

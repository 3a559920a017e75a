// The habits of the tools people know, through the binary: versions refused
// as talosctl refuses what is no version, EXAMPLES in every --help, a bare
// command of commands listing them, completion answered by the binary
// (with bash itself as the judge), one duration syntax with the old
// spellings kept, `registry login` asking at a terminal (a real pty) and
// `registry logout`, `version -o json|yaml`, and `config check` naming
// every bad value at once, with a suggestion.

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <regex>

#include "integration/push_helpers.h"
#include "support/local_service.h"
#include "support/registry_server.h"
#include "support/talos_model.h"

namespace sbpipe::test {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// What `_sbpipe` (the bash script `sbpipe completion bash` prints) offers
// for the words typed so far; the last word is the one being completed.
std::vector<std::string> bash_completes(const std::vector<std::string>& words) {
  std::string array;
  for (const auto& w : words) array += " '" + w + "'";
  std::string script = "source <(\"$0\" completion bash) || exit 9; COMP_WORDS=(\"$0\"" + array +
                       "); COMP_CWORD=" + std::to_string(words.size()) + "; _sbpipe; printf '%s\\n' \"${COMPREPLY[@]}\"";
  auto r = run({"bash", "-c", script, sbpipe_binary()});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  std::vector<std::string> out;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

bool has(const std::vector<std::string>& words, const std::string& word) {
  return std::find(words.begin(), words.end(), word) != words.end();
}

// Every command path below the root, from the binary's own answers.
std::vector<std::string> all_commands(const std::string& prefix = "") {
  if (prefix == "completion") return {};  // what it completes are shells, not commands
  std::vector<std::string> args{"__complete"};
  std::istringstream split(prefix);
  for (std::string w; split >> w;) args.push_back(w);
  args.push_back("");
  auto r = sbpipe(args);
  REQUIRE(r.exit_code == 0);
  std::vector<std::string> out;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line.front() == ':' || line.front() == '-') continue;
    std::string path = prefix.empty() ? line : prefix + " " + line;
    out.push_back(path);
    auto below = all_commands(path);
    out.insert(out.end(), below.begin(), below.end());
  }
  return out;
}

}  // namespace

TEST_SUITE("integration") {

TEST_CASE("--tag: a Talos version as talosctl parses one, in the supported range, refused before anything else") {
  TempDir dir;
  const std::string rule =
      "a Talos version is vMAJOR.MINOR.PATCH[-PRE], such as v1.12.4 or v1.14.0-rc.1 (sbpipe supports "
      "v1.8.3 through the v1.14 line)";
  for (const char* bad : {"1.12.4", "v1.12", "v1.12.4 "}) {
    auto plan = sbpipe({"plan", "--tag", bad, "-o", "shell"});
    CHECK(plan.exit_code == 2);
    CHECK_MESSAGE(plan.err.find("--tag '" + std::string(bad) + "': " + rule) != std::string::npos, plan.err);
    CHECK(plan.out.empty());
  }
  auto latest = sbpipe({"plan", "--tag", "latest"});
  CHECK(latest.exit_code == 2);
  CHECK(latest.err.find("--tag 'latest': a release is built for one Talos version, never for whatever 'latest' is") !=
        std::string::npos);
  for (const char* unsupported : {"v1.7.0", "v2.0.0", "v1.15.0"}) {
    auto r = sbpipe({"plan", "--tag", unsupported});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("is not supported (sbpipe supports v1.8.3 through the v1.14 line; docs/talos-versions.md)") !=
          std::string::npos);
  }
  // run refuses it before its config's paths, state or network are looked at.
  auto run_latest = sbpipe({"run", "--tag", "latest", "--dry-run", "--target", "dir:" + (dir / "pub").string(), "--state-dir",
                            (dir / "state").string()});
  CHECK(run_latest.exit_code == 2);
  CHECK(run_latest.out.empty());
  CHECK_FALSE(fs::exists(dir / "state"));
  auto submit = sbpipe({"submit", "-R", "o/r", "--tag", "1.12.4", "--release-id", "4", "--dry-run"});
  CHECK(submit.exit_code == 2);
  CHECK(submit.err.find("--tag '1.12.4': " + rule) != std::string::npos);
  // The 1.14 line is supported, pre-releases included; imager.talos_version lets a tag be no version.
  auto rc = sbpipe({"plan", "--tag", "v1.14.0-rc.1", "-o", "shell"});
  CHECK_MESSAGE(rc.exit_code == 0, rc.err);
  CHECK(rc.out.find("ghcr.io/siderolabs/imager:v1.14.0-rc.1") != std::string::npos);
  write_file(dir / "build.yaml", "imager:\n  talos_version: v1.12.4\n");
  auto build = sbpipe({"plan", "--tag", "build-42", "--config", (dir / "build.yaml").string()});
  CHECK_MESSAGE(build.exit_code == 0, build.err);
}

TEST_CASE("help: every command's --help has examples; a bare command of commands lists them") {
  auto commands = all_commands();
  for (const char* expected :
       {"run", "keys check", "registry login", "registry logout", "runs list", "runs cancel", "config check"})
    CHECK_MESSAGE(has(commands, expected), expected);
  CHECK_FALSE(has(commands, "__complete"));
  for (const auto& path : commands) {
    std::vector<std::string> args{"help"};
    std::istringstream split(path);
    for (std::string w; split >> w;) args.push_back(w);
    auto help = sbpipe(args);
    REQUIRE_MESSAGE(help.exit_code == 0, path);
    auto examples = help.out.find("Examples:\n  # ");
    CHECK_MESSAGE(examples != std::string::npos, path);
    CHECK_MESSAGE(help.out.find("\n  $ sbpipe ", examples) != std::string::npos, path);
  }
  CHECK(sbpipe({"--help"}).out.find("Examples:\n") != std::string::npos);
  for (const auto& [group, subs] : std::map<std::string, std::vector<std::string>>{
           {"keys", {"check"}}, {"registry", {"login", "logout"}}, {"config", {"init", "check"}}, {"runs", {"list", "logs"}}}) {
    auto bare = sbpipe({group});
    CHECK_MESSAGE(bare.exit_code == 0, group);
    for (const auto& sub : subs) CHECK_MESSAGE(bare.out.find("\n  " + sub) != std::string::npos, (group + " " + sub));
  }
}

TEST_CASE("completion: bash completes commands, subcommands, flags and their values from the binary") {
  auto top = bash_completes({""});
  CHECK(has(top, "run"));
  CHECK(has(top, "keys"));
  CHECK_FALSE(has(top, "__complete"));
  CHECK(bash_completes({"keys", ""}) == std::vector<std::string>{"check"});
  auto registry = bash_completes({"registry", ""});
  CHECK(has(registry, "login"));
  CHECK(has(registry, "logout"));
  CHECK(bash_completes({"completion", ""}) == std::vector<std::string>{"bash", "zsh", "fish"});
  CHECK(bash_completes({"run", "--format", ""}) == std::vector<std::string>{"text", "json", "yaml"});
  CHECK(bash_completes({"run", "-o", "y"}) == std::vector<std::string>{"yaml"});
  CHECK(bash_completes({"plan", "--arch", ""}) == std::vector<std::string>{"amd64", "arm64"});
  auto flags = bash_completes({"run", "--"});
  CHECK(has(flags, "--tag"));
  CHECK(has(flags, "--dry-run"));
  CHECK(has(flags, "--log-level"));      // a global flag, after the command too
  CHECK_FALSE(has(flags, "--version"));  // sbpipe's own, an error after a command
  CHECK(has(bash_completes({"--"}), "--version"));
  CHECK(bash_completes({"runs", "logs", "--f"}) == std::vector<std::string>{"--follow"});
}

TEST_CASE("durations: one syntax (30s, 5m, 250ms) for every duration flag, the old spellings kept") {
  auto help = sbpipe({"upload-assets", "--help"});
  CHECK(help.out.find("--retry-delay DURATION=1s") != std::string::npos);
  CHECK(help.out.find("--max-rate-limit-wait DURATION=15m") != std::string::npos);
  CHECK(help.out.find("--retry-delay-ms") == std::string::npos);  // the old spelling is hidden
  auto serve_help = sbpipe({"serve", "--help"});
  CHECK(serve_help.out.find("--request-timeout DURATION=10s") != std::string::npos);
  CHECK(serve_help.out.find("--api-deadline DURATION=8s") != std::string::npos);
  auto submit_help = sbpipe({"submit", "--help"});
  CHECK(submit_help.out.find("--wait-timeout DURATION=4h") != std::string::npos);
  CHECK(submit_help.out.find("(a bare number: minutes)") != std::string::npos);
  std::vector<std::string> upload{"upload-assets", "-R", "o/r", "--tag", "v1.9.0", "x", "--validate-only"};
  auto with = [&](std::vector<std::string> extra) {
    auto args = upload;
    args.insert(args.end(), extra.begin(), extra.end());
    return sbpipe(args);
  };
  CHECK(with({"--retry-delay", "250ms"}).exit_code == 0);
  CHECK(with({"--retry-delay", "1m30s"}).exit_code == 0);
  CHECK(with({"--retry-delay-ms", "20"}).exit_code == 0);
  CHECK(with({"--max-rate-limit-wait", "900"}).exit_code == 0);  // seconds, as it always took
  auto bare = with({"--retry-delay", "20"});
  CHECK(bare.exit_code == 2);
  CHECK(bare.err.find("--retry-delay '20': expected a duration such as 30s, 5m or 1h30m (units ms, s, m, h)") !=
        std::string::npos);
  auto far = with({"--retry-delay", "2h"});
  CHECK(far.exit_code == 2);
  CHECK(far.err.find("--retry-delay '2h': must be between 1ms and 10m") != std::string::npos);
  CHECK(sbpipe({"submit", "-R", "o/r", "--tag", "v1.9.0", "--poll-interval", "5", "--wait-timeout", "2h", "--validate-only"})
            .exit_code == 0);
  CHECK(sbpipe({"serve", "--request-timeout-ms", "2000", "--idle-timeout", "3s", "--validate-only"}).exit_code == 0);
}

TEST_CASE("version: the commit and the build date, as text, JSON and YAML") {
  auto text = sbpipe({"version"});
  REQUIRE(text.exit_code == 0);
  CHECK(text.out.starts_with(std::string("sbpipe ") + SBPIPE_VERSION + " (commit "));
  CHECK(text.out.find(", built ") != std::string::npos);
  CHECK(sbpipe({"--version"}).out == text.out);
  auto doc = json::parse(sbpipe({"version", "-o", "json"}).out);
  CHECK(doc["schemaVersion"] == 1);
  CHECK(doc["version"] == SBPIPE_VERSION);
  std::string commit = doc["commit"];
  CHECK((commit == "unknown" || commit.size() == 12));
  std::string date = doc["buildDate"];
  CHECK(date.size() == 20);
  CHECK(date[10] == 'T');
  CHECK(doc["platform"].get<std::string>().starts_with("linux/"));
  auto yaml = sbpipe({"version", "-o", "yaml"});
  CHECK(yaml.out.starts_with("schemaVersion: 1\n"));  // the other keys sorted, as in the JSON
  CHECK(yaml.out.find(std::string("\nversion: \"") + SBPIPE_VERSION + "\"\n") != std::string::npos);
  CHECK(yaml.out.find("\ncommit: ") != std::string::npos);
  // The documents a person pipes into yq read back as the JSON ones (python's YAML reader as the judge).
  auto plan = sbpipe({"plan", "--tag", "v1.12.4", "-o", "yaml"});
  REQUIRE(plan.exit_code == 0);
  TempDir dir;
  write_file(dir / "plan.yaml", plan.out);
  auto read = run({"python3", "-c", "import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
                   (dir / "plan.yaml").string()});
  REQUIRE_MESSAGE(read.exit_code == 0, read.err);
  CHECK(json::parse(read.out) == json::parse(sbpipe({"plan", "--tag", "v1.12.4", "-o", "json"}).out));
}

TEST_CASE("config check: every bad value at once, each with what was probably meant") {
  TempDir dir;
  write_file(dir / "values.yaml",
             "imager:\n  outputs: [secureboot-isoo, iso]\n  architectures: [x86_64]\n"
             "run:\n  repo: OWNER/talos-build\n  target: gihtub\n  installer_repository: ghcr.io/OWNER/installer\n"
             "serve:\n  allow_repos: [notarepo]\n");
  auto r = sbpipe({"config", "check", (dir / "values.yaml").string()});
  CHECK(r.exit_code == 2);
  const std::string f = (dir / "values.yaml").string();
  CHECK_MESSAGE(r.err.find(f + ": imager.outputs: unknown output 'secureboot-isoo' (did you mean secureboot-iso?); the outputs "
                               "are iso, secureboot-iso, installer, secureboot-installer, metal, secureboot-metal; "
                               "imager.architectures: unknown architecture 'x86_64' (did you mean amd64? Talos names x86_64 "
                               "amd64); the architectures are amd64, arm64; run.repo 'OWNER/talos-build' still holds the "
                               "example's placeholder OWNER: put your GitHub account there; run.target 'gihtub' is neither "
                               "github nor dir:PATH (did you mean github?); run.installer_repository 'ghcr.io/OWNER/installer' "
                               "still holds the example's placeholder OWNER: put your GitHub account there; "
                               "serve.allow_repos: 'notarepo' is not OWNER/NAME") != std::string::npos,
                r.err);
  write_file(dir / "types.yaml", "run:\n  make_latest: maybe\n  keys_dir: [a]\n");
  auto types = sbpipe({"config", "check", (dir / "types.yaml").string()});
  CHECK(types.exit_code == 2);
  CHECK_MESSAGE(types.err.find("run.make_latest must be true or false; run.keys_dir must be a string") != std::string::npos,
                types.err);
  auto init = sbpipe({"config", "init", (dir / "fresh.yaml").string()});
  REQUIRE(init.exit_code == 0);
  auto fresh = sbpipe({"config", "check", (dir / "fresh.yaml").string()});
  CHECK(fresh.exit_code == 2);  // the example's OWNER placeholders are named until replaced
  CHECK(fresh.err.find("still holds the example's placeholder OWNER") != std::string::npos);
}

TEST_CASE("config check --run: what every run needs, with the credentials read as the systemd unit loads them") {
  TempDir dir;
  auto config = write_service_config(dir.path(), "[" + k_model + ", '{args}']");
  // The config names the token as the service sees it; the unit says where that comes from.
  write_file(config, read_file(config) + "  github_token_file: /run/credentials/sbpipe.service/github-token\n");
  fs::create_directories(dir / "credentials");
  write_file(dir / "credentials" / "token", "ghp_example_token\n");
  write_file(dir / "credentials" / "webhook", "0123456789abcdef\n");
  write_file(dir / "sbpipe.service",
             "[Service]\nExecStart=/usr/local/bin/sbpipe serve --executor local --config /etc/sbpipe/sbpipe.yaml \\\n"
             "    --state-dir " +
                 (dir / "unit-state").string() +
                 " --webhook-secret-file ${CREDENTIALS_DIRECTORY}/webhook-secret\n"
                 "LoadCredential=webhook-secret:" +
                 (dir / "credentials" / "webhook").string() +
                 "\n"
                 "LoadCredential=github-token:" +
                 (dir / "credentials" / "token").string() + "\n");
  std::map<std::string, std::string> env{{"DOCKER_CONFIG", dir.path().string()}, {"CREDENTIALS_DIRECTORY", ""}};
  auto ok = sbpipe({"config", "check", "--run", config.string(), "--unit", (dir / "sbpipe.service").string()}, env);
  CHECK_MESSAGE(ok.exit_code == 0, (ok.err + ok.out));
  CHECK(ok.out.starts_with("CHECK "));
  CHECK(ok.out.find("\npublish target ") != std::string::npos);  // a dir: target
  CHECK(ok.out.find("webhook secret") != std::string::npos);
  CHECK(ok.out.find((dir / "unit-state").string()) != std::string::npos);  // the unit's --state-dir
  CHECK(ok.err.find("/run/credentials/sbpipe.service/github-token: sbpipe.service loads it from " +
                    (dir / "credentials" / "token").string()) != std::string::npos);
  CHECK(ok.out.find("ghp_example_token") == std::string::npos);
  CHECK(ok.err.find("ghp_example_token") == std::string::npos);
  // A credential the unit does not load, and a missing key set: every row named, exit 1.
  fs::remove_all(dir / "keys");
  write_file(dir / "sbpipe.service", "[Service]\nLoadCredential=webhook-secret:/nonexistent/webhook\n");
  auto bad = sbpipe({"config", "check", "--run", config.string(), "--unit", (dir / "sbpipe.service").string()}, env);
  CHECK(bad.exit_code == 1);
  auto row = bad.out.find("\ncredentials ");
  REQUIRE(row != std::string::npos);
  CHECK(bad.out.substr(row, bad.out.find('\n', row + 1) - row).find(" FAIL ") != std::string::npos);
  CHECK(bad.out.find("sbpipe.service loads no credential 'github-token' (LoadCredential=github-token:FILE)") !=
        std::string::npos);
  CHECK(bad.out.find("keys") != std::string::npos);
  CHECK(bad.err.find("check(s) failed (keys, certificate, pcr public key") != std::string::npos);
}

TEST_CASE("manifests render: the overlay from a config, no placeholder left, with 1Password or plain Secrets") {
  TempDir dir;
  write_file(dir / "sbpipe.yaml",
             "imager:\n  image: ghcr.io/alice/imager:{version}\n  outputs: [secureboot-installer, secureboot-iso, iso]\n"
             "  architectures: [amd64, arm64]\nrun:\n  repo: Alice/talos-build\n  installer_repository: ghcr.io/alice/installer\n"
             "  registry_username: alice-bot\n");
  std::string manifests = source_dir() + "/manifests";
  auto r = sbpipe({"manifests", "render", "--config", (dir / "sbpipe.yaml").string(), "--out", (dir / "op").string(),
                   "--manifests", manifests, "--vault", "build", "--storage-class", "local-path", "--node-arch", "amd64"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out.find("kubectl apply -k " + (dir / "op" / "overlays" / "receiver").string()) != std::string::npos);
  // kubectl's kustomize (the judge) builds what is applied: the values in place, nothing to guess.
  for (const char* overlay : {"receiver", "argo-events"}) {
    auto built = run({"kubectl", "kustomize", (dir / "op" / "overlays" / overlay).string()});
    REQUIRE_MESSAGE(built.exit_code == 0, built.err);
    CHECK_FALSE(std::regex_search(built.out, std::regex(R"(\bOWNER\b)")));  // FOWNER, a capability, stays
    for (const char* left : {"ghcr.io/owner/", "vaults/VAULT/"}) CHECK_MESSAGE(built.out.find(left) == std::string::npos, left);
    CHECK(built.out.find("ghcr.io/alice/installer:{{workflow.parameters.version}}") != std::string::npos);
    CHECK(built.out.find("- alice-bot\n") != std::string::npos);
    CHECK(built.out.find("vaults/build/items/") != std::string::npos);
    CHECK(built.out.find("image: ghcr.io/alice/imager:{version}") != std::string::npos);  // the ConfigMap's build config
    CHECK(built.out.find("allow_repos: [Alice/talos-build]") != std::string::npos);
    CHECK(built.out.find("storageClassName: local-path") != std::string::npos);
    CHECK(built.out.find("kubernetes.io/arch: amd64") != std::string::npos);
  }
  CHECK(run({"kubectl", "kustomize", (dir / "op" / "overlays" / "argo-events").string()}).out.find("owner: Alice") !=
        std::string::npos);
  // Plain Secrets: no operator; kustomize names each file still to put in place, then makes the Secrets.
  auto plain = sbpipe({"manifests", "render", "--config", (dir / "sbpipe.yaml").string(), "--out", (dir / "plain").string(),
                       "--manifests", manifests, "--secrets", "plain"});
  REQUIRE_MESSAGE(plain.exit_code == 0, plain.err);
  CHECK(plain.err.find("must show one marked (default)") != std::string::npos);  // the StorageClass need, stated
  auto missing = run({"kubectl", "kustomize", (dir / "plain" / "overlays" / "receiver").string()});
  CHECK(missing.exit_code != 0);
  CHECK(missing.err.find("files/secureboot/uki-signing-key.pem") != std::string::npos);
  auto files = dir / "plain" / "secrets" / "plain" / "files";
  for (const char* f : {"uki-signing-key.pem", "uki-signing-cert.pem", "pcr-signing-key.pem", "PK.auth", "KEK.auth", "db.auth"})
    write_file(files / "secureboot" / f, std::string("x-") + f);
  for (const char* f : {"pcr-signing-key.pub.pem", "github-token", "registry-password", "webhook-secret"})
    write_file(files / f, std::string("x-") + f);
  auto built = run({"kubectl", "kustomize", (dir / "plain" / "overlays" / "receiver").string()});
  REQUIRE_MESSAGE(built.exit_code == 0, built.err);
  CHECK(built.out.find("OnePasswordItem") == std::string::npos);
  for (const char* secret : {"secureboot-signing-keys", "secureboot-pcr-public-key", "sbpipe-github-token", "sbpipe-registry",
                             "sbpipe-webhook-secret"})
    CHECK_MESSAGE(
        built.out.find("  name: " + std::string(secret) + "\n  namespace: talos-build\ntype: Opaque") != std::string::npos,
        secret);
  // A value the manifests need and the config lacks: named, nothing written.
  write_file(dir / "thin.yaml", "run:\n  repo: alice/talos-build\n");
  auto thin = sbpipe({"manifests", "render", "--config", (dir / "thin.yaml").string(), "--out", (dir / "thin").string(),
                      "--manifests", manifests, "--vault", "build"});
  CHECK(thin.exit_code == 2);
  CHECK(thin.err.find("needs run.installer_repository") != std::string::npos);
  CHECK(thin.err.find("(nothing written)") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "thin"));
}

TEST_CASE("manifests render: the pods that run the sbpipe image stay on nodes of its architectures") {
  TempDir dir;
  write_file(dir / "sbpipe.yaml",
             "imager:\n  image: ghcr.io/alice/imager:{version}\nrun:\n  repo: alice/talos-build\n"
             "  installer_repository: ghcr.io/alice/installer\n  registry_username: alice-bot\n");
  auto manifests = dir / "manifests";
  fs::copy(source_dir() + "/manifests", manifests, fs::copy_options::recursive);
  auto images = manifests / "images" / "kustomization.yaml";
  const std::string shipped = read_file(images);
  auto render = [&](const std::string& out, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{
        "manifests",        "render",  "--config", (dir / "sbpipe.yaml").string(), "--out", (dir / out).string(), "--manifests",
        manifests.string(), "--vault", "build"};
    args.insert(args.end(), extra.begin(), extra.end());
    return sbpipe(args);
  };
  auto built = [&](const std::string& out, const char* overlay) {
    auto r = run({"kubectl", "kustomize", (dir / out / "overlays" / overlay).string()});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    return r.out;
  };
  // The shipped pin names both architectures (what scripts/build-image builds): no pod is tied to one.
  REQUIRE(shipped.find("sbpipe.dev/architectures: \"amd64,arm64\"") != std::string::npos);
  auto both = render("both");
  REQUIRE_MESSAGE(both.exit_code == 0, both.err);
  for (const char* overlay : {"receiver", "argo-events"})
    CHECK(built("both", overlay).find("kubernetes.io/arch") == std::string::npos);
  // An image built for arm64 only: the receiver's pods and the build's pods on arm64 nodes.
  std::string arm64_only = shipped;
  arm64_only.replace(arm64_only.find("\"amd64,arm64\""), 13, "\"arm64\"");
  write_file(images, arm64_only);
  auto one = render("one");
  REQUIRE_MESSAGE(one.exit_code == 0, one.err);
  std::string receiver = built("one", "receiver");
  auto deployment = receiver.find("kind: Deployment");
  auto workflow_template = receiver.find("kind: WorkflowTemplate");
  REQUIRE(deployment != std::string::npos);
  REQUIRE(workflow_template != std::string::npos);
  // kustomize sorts by kind; each object's text runs to the next "---".
  auto object = [&](size_t at) {
    return receiver.substr(receiver.rfind("---", at), receiver.find("\n---", at) - receiver.rfind("---", at));
  };
  CHECK(object(deployment).find("nodeSelector:\n        kubernetes.io/arch: arm64") != std::string::npos);
  CHECK(object(workflow_template).find("nodeSelector:\n    kubernetes.io/arch: arm64") != std::string::npos);
  CHECK(built("one", "argo-events").find("kubernetes.io/arch: arm64") != std::string::npos);
  // --node-arch for an architecture the image lacks: named, nothing written.
  auto clash = render("clash", {"--node-arch", "amd64"});
  CHECK(clash.exit_code == 2);
  CHECK(clash.err.find("--node-arch amd64, but the sbpipe image (images/kustomization.yaml) is built for arm64 only") !=
        std::string::npos);
  CHECK_FALSE(fs::exists(dir / "clash"));
  // A pin that does not say what it holds: refused, naming where it comes from.
  std::string unsaid = shipped;
  auto meta = unsaid.find("metadata:\n");
  unsaid.erase(meta, unsaid.find("images:") - meta);
  write_file(images, unsaid);
  auto blind = render("blind");
  CHECK(blind.exit_code == 2);
  CHECK(blind.err.find("images/kustomization.yaml: no sbpipe.dev/architectures annotation (scripts/build-image "
                       "--images-file writes it with the digest)") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "blind"));
}

TEST_CASE("registry login asks at a terminal (the password unseen); logout removes what login saved") {
  TempDir dir;
  auto hashed = run({"htpasswd", "-Bbn", "builder", "tty-s3cret"});
  REQUIRE(hashed.exit_code == 0);
  write_file(dir / "htpasswd", hashed.out);
  RegistryConfig config;
  config.htpasswd_file = (dir / "htpasswd").string();
  LocalRegistry registry(config);
  std::map<std::string, std::string> env{{"DOCKER_CONFIG", (dir / "docker").string()}};
  auto login = run({test_support_dir() + "/pty_dialog.py", (dir / "tty.log").string(), "Username: ", "builder",
                    "Password: ", "tty-s3cret", "--", sbpipe_binary(), "registry", "login", registry.host()},
                   env);
  std::string terminal = read_file(dir / "tty.log");
  REQUIRE_MESSAGE(login.exit_code == 0, (login.err + terminal));
  CHECK(login.out == "Login Succeeded\n");
  CHECK(terminal.find("Username: builder") != std::string::npos);  // the user name is echoed
  CHECK(terminal.find("Password: ") != std::string::npos);
  CHECK(terminal.find("tty-s3cret") == std::string::npos);  // the password never is
  auto saved = json::parse(read_file(dir / "docker" / "config.json"));
  CHECK(saved["auths"].contains(registry.host()));
  // A wrong password typed at the prompt saves nothing.
  auto wrong = run({test_support_dir() + "/pty_dialog.py", (dir / "tty2.log").string(), "Password: ", "nope", "--",
                    sbpipe_binary(), "registry", "login", registry.host(), "-u", "builder"},
                   env);
  CHECK(wrong.exit_code == 1);

  auto logout = sbpipe({"registry", "logout", registry.host()}, env);
  REQUIRE_MESSAGE(logout.exit_code == 0, logout.err);
  CHECK(logout.out == "Removing login credentials for " + registry.host() + "\n");
  CHECK_FALSE(json::parse(read_file(dir / "docker" / "config.json"))["auths"].contains(registry.host()));
  auto again = sbpipe({"registry", "logout", registry.host()}, env);
  CHECK(again.exit_code == 0);
  CHECK(again.out == "Not logged in to " + registry.host() + "\n");
}

}  // TEST_SUITE("integration")

}  // namespace sbpipe::test

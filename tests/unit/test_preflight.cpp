// run's preflight (src/pipeline/preflight.cpp) against the fakes of the
// runner's seams (tests/support/fakes_runner.h): every check passing, then
// each failing alone, with its exact row; and the config file's check
// (src/pipeline/config_check.cpp): every unknown key and section in one
// message, wrong types, and the example config.

#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "core/file_lock.h"
#include "core/temp_dir.h"
#include "pipeline/config_check.h"
#include "pipeline/continuity.h"
#include "pipeline/preflight.h"
#include "pipeline/steps.h"
#include "plan/plan.h"
#include "support/fake_target.h"
#include "support/fakes_runner.h"
#include "support/secureboot_fixtures.h"
#include "support/talos_model.h"
#include "unit/fakes.h"
#include "webhook/serve_config.h"

using namespace sbpipe;
using namespace sbpipe::test;
namespace fs = std::filesystem;

namespace {

const std::string k_tag = "v1.9.0";

// One key set for every case (openssl makes it once).
const fs::path& owner_keys() {
  static ScratchDir dir = std::move(*ScratchDir::create("sbpipe-preflight-keys"));
  static bool made = (make_owner_keys(dir.path() / "keys"), true);
  (void)made;
  static fs::path keys = dir.path() / "keys";
  return keys;
}

struct PreflightFixture {
  ScratchDir scratch = std::move(*ScratchDir::create("sbpipe-preflight"));
  RunSettings settings;
  FakeClock clock;
  FakeImager imager;
  FakeInstallers installers;
  FakeTarget target;
  bool with_target = true;
  std::string problem;

  PreflightFixture() {
    fs::copy(owner_keys(), scratch.path() / "keys", fs::copy_options::recursive);
    settings.keys_dir = (scratch.path() / "keys").string();
    settings.imager_command = {"imager", "{out}", "{args}"};
    settings.installer_repository = "registry.test/talos/installer";
    target.info.tag = k_tag;
    // The key set's certificate is valid from today (openssl): the clock reads today.
    clock.advance(std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() - clock.wall_now()));
  }

  std::vector<PreflightRow> rows() {
    return run_preflight(k_tag, settings, PreflightEnv{clock, imager, installers, with_target ? &target : nullptr, problem});
  }
  PreflightRow row(const std::string& check) {
    for (auto& r : rows())
      if (r.check == check) return r;
    FAIL("no row " << check);
    return {};
  }
};

std::vector<std::string> failed(const std::vector<PreflightRow>& rows) {
  std::vector<std::string> names;
  for (const auto& r : rows)
    if (r.result == PreflightResult::fail) names.push_back(r.check + ": " + r.detail);
  return names;
}

}  // namespace

TEST_SUITE("unit") {

TEST_CASE("preflight: every check passes on a good set-up, in order, and asks each seam without changing anything") {
  PreflightFixture f;
  f.installers.previous = "registry.test/talos/installer:v1.8.0@sha256:" + std::string(64, 'b');
  auto rows = f.rows();
  std::vector<std::string> checks;
  for (const auto& r : rows) checks.push_back(r.check);
  CHECK(checks == std::vector<std::string>{"keys", "certificate", "pcr public key", "signing key", "publish access", "release",
                                           "registry", "imager engine", "continuity", "source", "disk space"});
  for (const auto& problem : failed(rows)) FAIL_CHECK(problem);
  CHECK(failed(rows).empty());
  CHECK(preflight_status(rows).has_value());
  CHECK(f.installers.calls == std::vector<std::string>{"check push registry.test/talos/installer:v1.9.0",
                                                       "previous registry.test/talos/installer",
                                                       "continuity registry.test/talos/installer"});
  CHECK(f.target.calls == std::vector<std::string>{"check access", "open"});
  CHECK(f.imager.calls.empty());  // "imager" is not a container engine: found, not run
  CHECK(rows[1].detail.starts_with(f.settings.keys_dir + "/uki-signing-cert.pem: O=Owner UKI, valid until "));
  CHECK(rows[3].result == PreflightResult::warn);  // no run.sign_key: nothing will be signed
  CHECK(rows[3].detail.starts_with("no run.sign_key: the installer and release files are not signed"));
  CHECK(rows[4].detail == "may publish");
  CHECK(rows[5].detail == "release v1 is a pre-release");
  CHECK(rows[7].detail == "/usr/bin/imager");
  CHECK(rows[8].detail == "same PCR key and UKI signer as " + f.installers.previous);
  CHECK(rows[10].detail.find(" GiB free") != std::string::npos);
}

TEST_CASE("preflight: a partial PK/KEK/db.auth set fails the keys row before imager, naming the missing files") {
  PreflightFixture f;
  const fs::path keys(f.settings.keys_dir);
  write_enrolment(keys, {keys / "uki-signing-cert.pem"});
  fs::remove(keys / "db.auth");
  auto r = f.row("keys");
  CHECK(r.result == PreflightResult::fail);
  CHECK(r.detail.find("PK/KEK/db.auth complete: missing db.auth;") != std::string::npos);
  CHECK(preflight_status(f.rows()).error().message() == "preflight: 1 check(s) failed (keys); imager was not started");
}

TEST_CASE("preflight: a missing key file fails the keys row, naming the file") {
  PreflightFixture f;
  fs::remove(fs::path(f.settings.keys_dir) / "pcr-signing-key.pem");
  auto r = f.row("keys");
  CHECK(r.result == PreflightResult::fail);
  CHECK(r.detail.find("pcr-signing-key.pem") != std::string::npos);
  CHECK(r.detail.ends_with("(sbpipe keys check " + f.settings.keys_dir + " shows every check)"));
  CHECK(preflight_status(f.rows()).error().message() == "preflight: 1 check(s) failed (keys); imager was not started");
}

TEST_CASE("preflight: a certificate that is not the signing key's fails; a missing one names the setting") {
  PreflightFixture f;
  ScratchDir other = std::move(*ScratchDir::create("sbpipe-other-keys"));
  make_owner_keys(other.path() / "keys", "Someone Else");
  f.settings.cert_file = (other.path() / "keys" / "uki-signing-cert.pem").string();
  auto r = f.row("certificate");
  CHECK(r.result == PreflightResult::fail);
  CHECK(r.detail == "run.cert_file: " + f.settings.cert_file +
                        " (O=Someone Else) is not the certificate of the key imager signs with (" + f.settings.keys_dir +
                        "/uki-signing-cert.pem): verify would refuse every UKI");
  f.settings.cert_file = (other.path() / "nope.pem").string();
  CHECK(f.row("certificate").detail ==
        "run.cert_file: " + f.settings.cert_file + ": missing (the UKI signing certificate verify checks signatures against)");
  f.settings.cert_file = (fs::path(f.settings.keys_dir) / "uki-signing-key.pem").string();
  CHECK(f.row("certificate").detail ==
        "run.cert_file: " + f.settings.cert_file + " holds a private key; verify reads only the public certificate");
}

TEST_CASE("preflight: run.sign_key: a key sbpipe can sign with passes with its fingerprint; a missing or public key fails") {
  PreflightFixture f;
  const fs::path dir(f.settings.keys_dir);
  // Made by the openssl command line, not by the code under test.
  REQUIRE(std::system(("openssl ecparam -name prime256v1 -genkey -noout -out " + (dir / "image.key").string() +
                       " 2>/dev/null && openssl ec -in " + (dir / "image.key").string() + " -pubout -out " +
                       (dir / "image.pub").string() + " 2>/dev/null")
                          .c_str()) == 0);
  f.settings.sign_key = (dir / "image.key").string();
  auto ok = f.row("signing key");
  CHECK(ok.result == PreflightResult::ok);
  CHECK(ok.detail.starts_with(f.settings.sign_key + ": public key "));
  f.settings.sign_key = (dir / "missing.key").string();
  CHECK(f.row("signing key").result == PreflightResult::fail);
  CHECK(f.row("signing key").detail.find("missing.key") != std::string::npos);
  f.settings.sign_key = (dir / "image.pub").string();
  CHECK(f.row("signing key").result == PreflightResult::fail);
  CHECK(preflight_status(f.rows()).error().message() == "preflight: 1 check(s) failed (signing key); imager was not started");
}

TEST_CASE("preflight: no token, a token without push, a full release: each its own row") {
  PreflightFixture f;
  f.with_target = false;
  f.problem = "no GitHub token: set GH_TOKEN or GITHUB_TOKEN, or pass --github-token-file";
  auto rows = f.rows();
  CHECK(rows[4].result == PreflightResult::fail);
  CHECK(rows[4].detail == f.problem);
  CHECK(rows[5].result == PreflightResult::skip);
  CHECK(rows[5].detail == "needs publish access");

  PreflightFixture g;
  g.target.access_error = Error(ErrorKind::auth, "the token from GH_TOKEN lacks push access to me/x");
  CHECK(g.row("publish access").result == PreflightResult::fail);
  CHECK(g.row("publish access").detail == "the token from GH_TOKEN lacks push access to me/x");

  PreflightFixture h;
  h.target.info.state = ReleaseState::released;
  CHECK(h.row("release").result == PreflightResult::fail);
  CHECK(h.row("release").detail == "release v1 is already a full release; run publishes pre-releases and drafts only");
  h.target.missing = true;
  CHECK(h.row("release").detail == "release v1: no such release");
}

TEST_CASE("preflight: a registry refusing the credentials fails its row; a refusal names where credentials come from") {
  PreflightFixture f;
  f.installers.push_access_error =
      Error(ErrorKind::auth, "registry registry.test/talos/installer: credentials refused (HTTP 401)");
  auto r = f.row("registry");
  CHECK(r.result == PreflightResult::fail);
  CHECK(r.detail == "registry registry.test/talos/installer: credentials refused (HTTP 401)");
  auto hinted = with_registry_auth_hint(*f.installers.push_access_error, "registry.test/talos/installer");
  CHECK(hinted.kind() == ErrorKind::auth);
  CHECK(hinted.message() ==
        "registry registry.test/talos/installer: credentials refused (HTTP 401); the credentials come from "
        "--username/--password-file (run: registry_username and registry_password_file), else "
        "SBPIPE_REGISTRY_USERNAME/SBPIPE_REGISTRY_PASSWORD, else docker's config.json (--log-level debug names which was "
        "used); pushing to registry.test/talos/installer needs write access to it (GHCR: a token with write:packages)");
  CHECK(with_registry_auth_hint(Error(ErrorKind::transient, "x"), "r").message() == "x");
  f.settings.installer_repository.clear();
  CHECK(f.row("registry").result == PreflightResult::skip);
  CHECK(f.row("continuity").result == PreflightResult::warn);
  CHECK(f.row("continuity").detail.starts_with("not checked: no run.installer_repository or run.previous_ref"));
}

TEST_CASE("preflight: the imager engine must exist, and a container engine must answer") {
  PreflightFixture f;
  f.imager.programs.clear();
  auto r = f.row("imager engine");
  CHECK(r.result == PreflightResult::fail);
  CHECK(r.detail ==
        "imager: not found on PATH (the first word of run.imager_command: install a container engine such as docker or "
        "podman, or point run.imager_command at imager)");
  f.settings.imager_command = {"docker", "run", "{image}", "{args}"};
  f.imager.programs = {"docker"};
  CHECK(f.row("imager engine").result == PreflightResult::ok);
  f.imager.info_status = 1;
  CHECK(f.row("imager engine").detail ==
        "docker info exited with status 1: the engine does not answer (is its daemon running, and may this user reach its "
        "socket?)");
  CHECK(f.imager.calls.back() == "docker info");
  REQUIRE(f.imager.specs.back().output.has_value());
  CHECK(*f.imager.specs.back().output == "/dev/null");
}

TEST_CASE("preflight: continuity's previous release must be found; a first release passes") {
  PreflightFixture f;
  CHECK(f.row("continuity").detail == "no earlier release in registry.test/talos/installer (first release)");
  f.installers.previous_error = Error(ErrorKind::transient, "registry registry.test/talos/installer: GET tags: Couldn't connect");
  CHECK(f.row("continuity").result == PreflightResult::fail);
  CHECK(f.row("continuity").detail == "registry registry.test/talos/installer: GET tags: Couldn't connect");
}

TEST_CASE("preflight: continuity compares the configured certificate and PCR key with the previous release's") {
  PreflightFixture f;
  f.installers.previous = "registry.test/talos/installer:v1.8.0@sha256:" + std::string(64, 'b');
  f.installers.changes = {"amd64: the PCR signing key changed (...)"};
  auto r = f.row("continuity");
  CHECK(r.result == PreflightResult::fail);
  CHECK(r.detail == "amd64: the PCR signing key changed (...); " + rotation_advice());
  // What the comparison was given: this build's UKIs as verify will see them, from the configured files.
  REQUIRE(f.installers.calls.back() == "continuity registry.test/talos/installer");
  auto pcr = read_file(fs::path(f.settings.keys_dir) / "pcr-signing-key.pub.pem");
  CHECK(f.installers.continuity_verdicts.size() == 1);
  CHECK(f.installers.continuity_verdicts[0].machine == "x64");
  CHECK(f.installers.continuity_verdicts[0].pcrpkey == pcr);
  CHECK_FALSE(f.installers.continuity_verdicts[0].signer_der.empty());
  // --allow-key-rotation: named, not refused.
  auto rows = run_preflight(k_tag, f.settings, [&] {
    PreflightEnv env{f.clock, f.imager, f.installers, &f.target, ""};
    env.allow_key_rotation = true;
    env.architectures = {"amd64", "arm64"};
    return env;
  }());
  CHECK(rows[8].result == PreflightResult::warn);
  CHECK(rows[8].detail.ends_with("(--allow-key-rotation: published, and the release notes say so)"));
  CHECK(f.installers.continuity_verdicts.size() == 2);
  CHECK(f.installers.continuity_verdicts[1].machine == "aa64");
  // The certificate unreadable: not checked, never ok.
  fs::remove(fs::path(f.settings.keys_dir) / "pcr-signing-key.pub.pem");
  auto unread = f.row("continuity");
  CHECK(unread.result == PreflightResult::fail);
  CHECK(unread.detail.starts_with("not checked: the certificate or PCR public key cannot be read ("));
}

TEST_CASE("preflight: run.source_dir must hold the tag the provenance names, checked before imager") {
  PreflightFixture f;
  auto source = [&] {
    for (const auto& r : f.rows())
      if (r.check == "source") return r;
    return PreflightRow{};
  };
  CHECK(source().result == PreflightResult::skip);
  const fs::path src = f.scratch.path() / "src";
  f.settings.source_dir = src.string();
  CHECK(source().result == PreflightResult::fail);  // no repository there
  // A repository made by the git command line, not by the code under test.
  const std::string git = "git -C " + src.string() + " -c user.name=t -c user.email=t@example.invalid ";
  REQUIRE(std::system(("git init -q " + src.string() + " && " + git + "commit -q --allow-empty -m first").c_str()) == 0);
  auto missing = source();
  CHECK(missing.result == PreflightResult::fail);
  CHECK(missing.detail.starts_with(src.string() + ": "));
  CHECK(missing.detail.find("v1.9.0") != std::string::npos);
  REQUIRE(std::system((git + "tag " + k_tag).c_str()) == 0);
  auto found = source();
  CHECK(found.result == PreflightResult::ok);
  CHECK(found.detail.starts_with("tag v1.9.0 is commit "));
  CHECK(found.detail.ends_with(" in " + src.string()));
}

TEST_CASE("preflight: a run of the version already going is named first, alone; a short disk fails") {
  PreflightFixture f;
  f.settings.state_dir = (f.scratch.path() / "state").string();
  fs::create_directories(f.scratch.path() / "state" / k_tag);
  auto held = FileLock::take(f.scratch.path() / "state" / k_tag / "lock", LockWait::no_wait, LockOwner::record_pid);
  REQUIRE(held);
  auto rows = f.rows();
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].check == "lock");
  CHECK(rows[0].result == PreflightResult::fail);
  CHECK(rows[0].detail == "version v1.9.0 is being run by another process (pid " + std::to_string(::getpid()) +
                              "); run with --wait to wait for it");
  CHECK(f.installers.calls.empty());  // nothing asked over the network
  PreflightEnv waiting{f.clock, f.imager, f.installers, &f.target, ""};
  waiting.waits_for_lock = true;
  waiting.free_space = [](const fs::path&) { return std::optional<uint64_t>(uint64_t{300} << 20); };
  auto waited = run_preflight(k_tag, f.settings, waiting);
  CHECK(waited.front().result == PreflightResult::warn);
  CHECK(waited.back().check == "disk space");
  CHECK(waited.back().result == PreflightResult::fail);
  CHECK(waited.back().detail == (f.scratch.path() / "state").string() +
                                    ": 0.3 GiB free; a run's outputs need about 2.0 GiB (imager would stop part way with a "
                                    "full disk)");
  waiting.free_space = [](const fs::path&) { return std::optional<uint64_t>(); };
  CHECK(run_preflight(k_tag, f.settings, waiting).back().detail.ends_with("cannot tell the free space (not checked)"));
}

TEST_CASE("service checks: what every run needs, without a tag or the network") {
  PreflightFixture f;
  auto state = f.scratch.path() / "state";
  PreflightEnv env{f.clock, f.imager, f.installers, nullptr, ""};
  ::setenv("GH_TOKEN", "", 1);
  ::setenv("GITHUB_TOKEN", "", 1);
  ::setenv("DOCKER_CONFIG", f.scratch.path().c_str(), 1);  // no config.json: no registry credentials
  auto rows = service_checks(f.settings, state, env);
  std::vector<std::string> checks;
  for (const auto& r : rows) checks.push_back(r.check);
  CHECK(checks == std::vector<std::string>{"keys", "certificate", "pcr public key", "signing key", "github token",
                                           "registry credentials", "imager engine", "state dir", "disk space"});
  CHECK(failed(rows) ==
        std::vector<std::string>{"github token: no GitHub token: set run.github_token_file (or GH_TOKEN/GITHUB_TOKEN in the "
                                 "environment)"});
  CHECK(rows[5].result == PreflightResult::warn);  // no credentials found: anonymous
  CHECK(rows[7].detail == state.string() + " (created at the first run)");
  CHECK(f.installers.calls.empty());
  write_file(f.scratch.path() / "token", "ghp_example\n");
  f.settings.github_token_file = (f.scratch.path() / "token").string();
  CHECK(service_checks(f.settings, state, env)[4].detail == "from " + f.settings.github_token_file);
  f.settings.github_token_file = (f.scratch.path() / "missing").string();
  CHECK(service_checks(f.settings, state, env)[4].detail ==
        "run.github_token_file: GitHub token file " + f.settings.github_token_file + ": cannot read (no such file)");
  f.settings.target = "dir:" + (f.scratch.path() / "pub").string();
  auto dir = service_checks(f.settings, state, env)[4];
  CHECK(dir.check == "publish target");
  CHECK(dir.result == PreflightResult::ok);
  ::unsetenv("GH_TOKEN");
  ::unsetenv("GITHUB_TOKEN");
  ::unsetenv("DOCKER_CONFIG");
}

TEST_CASE("config check: every unknown key and section is named by its path, in one message") {
  auto unknown = unknown_config_keys(
      "imagr: {}\nimager: {outptus: x, pxe: true}\nserve:\n  kubernetes:\n    namespce: a\n"
      "    parameters: {version: v, tg: t}\nrun: {repo: x, make: y}\n",
      "f.yaml", config_sections());
  REQUIRE(unknown.has_value());
  CHECK(*unknown == std::vector<std::string>{"section imagr", "key imager.outptus", "key serve.kubernetes.namespce",
                                             "key serve.kubernetes.parameters.tg", "key run.make"});
  CHECK(check_config_text("imager: {outptus: x}\n", "f.yaml").error().message() == "f.yaml: unknown key imager.outptus");
  CHECK(check_config_text("x: 1\n", "f.yaml").error().message() == "f.yaml: unknown section x (sections: imager, serve, run)");
  CHECK(check_config_text("x: [\n", "f.yaml").error().message().starts_with("f.yaml: not valid YAML"));
  CHECK(check_config_text("", "f.yaml").has_value());
}

TEST_CASE("config check: wrong types are named with path and type, every section's") {
  auto st = check_config_text("imager: {pxe: 3x}\nserve: {listen: [a]}\nrun: {imager_command: {a: b}}\n", "f.yaml");
  CHECK(st.error().message() ==
        "f.yaml: imager.pxe must be true or false; serve.listen must be a string; run.imager_command must be a string");
  CHECK(st.error().kind() == ErrorKind::config);
}

TEST_CASE("config check: each section lists exactly what its reader reads; the example config passes") {
  // A listed key the reader did not know would pass the check and then be
  // refused by the reader as unknown: every listed key is fed to its reader.
  for (const auto& section : config_sections()) {
    for (auto key : section.keys) {
      std::string yaml = std::string(section.name) + ":\n";
      std::string indent = "  ";
      std::string path(key);
      for (size_t dot; (dot = path.find('.')) != std::string::npos; path = path.substr(dot + 1)) {
        yaml += indent + path.substr(0, dot) + ":\n";
        indent += "  ";
      }
      yaml += indent + path + ": ~\n";
      CAPTURE(yaml);
      auto status_of = [](const auto& parsed) { return parsed ? Status{} : Status(fail(parsed.error())); };
      Status read = section.name == "imager"  ? status_of(parse_plan_config(yaml, "f"))
                    : section.name == "serve" ? status_of(parse_serve_config(yaml, "f"))
                                              : status_of(parse_run_config(yaml, "f"));
      if (!read) CHECK(read.error().message().find("unknown key") == std::string::npos);
    }
  }
  CHECK(check_config_text(example_config(), "sbpipe.yaml").has_value());
  CHECK(example_config().find("OWNER") != std::string_view::npos);
}

}  // TEST_SUITE("unit")

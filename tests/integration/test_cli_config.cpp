// sbpipe config init / config check, typed as a user would, and the same
// check in every command that reads the file. The behaviour modelled:
// goreleaser's `init` and `check` (goreleaser.com/cmd/goreleaser_check) and
// kubectl's strict decoding, which names every unknown field by its path.

#include <doctest/doctest.h>

#include <sys/stat.h>

#include <algorithm>

#include "integration/push_helpers.h"

namespace sbpipe::test {
namespace {

namespace fs = std::filesystem;

const fs::path k_example = fs::path(source_dir()) / "manifests/systemd/sbpipe.yaml";

TEST_SUITE("integration") {

TEST_CASE("config: init writes the installed example (mode 0644, no secret), check says OK; init keeps an existing file") {
  TempDir dir;
  auto path = dir / "sbpipe.yaml";
  auto init = sbpipe({"config", "init", path.string()});
  REQUIRE_MESSAGE(init.exit_code == 0, init.err);
  CHECK(init.out ==
        "wrote " + path.string() + ": replace OWNER and the paths, then run 'sbpipe config check " + path.string() + "'\n");
  CHECK(read_file(path) == read_file(k_example));  // one source: the file cmake --install installs
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0644);
  // Secrets are named by file, never given as values.
  std::string text = read_file(path);
  CHECK(text.find("registry_password_file:") != std::string::npos);
  CHECK(text.find("registry_password:") == std::string::npos);
  CHECK(text.find("token:") == std::string::npos);

  // As written, the example still names OWNER: check says where, and passes once it is replaced.
  auto unedited = sbpipe({"config", "check", path.string()});
  CHECK(unedited.exit_code == 2);
  CHECK(unedited.err.find("run.repo 'OWNER/talos-build' still holds the example's placeholder OWNER") != std::string::npos);
  std::string edited = read_file(path);
  for (size_t at; (at = edited.find("OWNER")) != std::string::npos;) edited.replace(at, 5, "me");
  write_file(path, edited);
  auto check = sbpipe({"config", "check", path.string()});
  CHECK_MESSAGE(check.exit_code == 0, check.err);
  CHECK(check.out == path.string() + ": OK\n");
  CHECK(check.err.empty());

  write_file(path, "run: {repo: me/talos-build}\n");
  auto again = sbpipe({"config", "init", path.string()});
  CHECK(again.exit_code == 2);
  CHECK(again.err == "sbpipe: error: " + path.string() + ": exists; pass --force to replace it with the example\n");
  CHECK(read_file(path) == "run: {repo: me/talos-build}\n");
  auto forced = sbpipe({"config", "init", path.string(), "--force"});
  CHECK(forced.exit_code == 0);
  CHECK(read_file(path) == read_file(k_example));

  // Without PATH: $SBPIPE_CONFIG, as --config reads it.
  write_file(path, edited);
  auto by_env = sbpipe({"config", "check"}, {{"SBPIPE_CONFIG", path.string()}});
  CHECK_MESSAGE(by_env.exit_code == 0, by_env.err);
  CHECK(by_env.out == path.string() + ": OK\n");
}

TEST_CASE("config: check names every unknown key and section with its path, in one run; every command says the same") {
  TempDir dir;
  auto path = dir / "typo.yaml";
  write_file(path,
             "imagr:\n  outputs: [iso]\n"
             "imager:\n  outptus: [iso]\n  architectures: [amd64]\n"
             "serve:\n  kubernetes:\n    namespace: argo\n    parameters: {version: v, tag: t}\n"
             "run:\n  repo: me/talos-build\n  instaler_repository: ghcr.io/me/installer\n");
  const std::string expected = "sbpipe: error: " + path.string() +
                               ": unknown section imagr, unknown key imager.outptus, unknown key "
                               "serve.kubernetes.parameters.tag, unknown key run.instaler_repository (sections: imager, "
                               "serve, run)\n";
  auto check = sbpipe({"config", "check", path.string()});
  CHECK(check.exit_code == 2);
  CHECK(check.out.empty());
  CHECK(check.err == expected);
  // plan read only its imager: section and planned the defaults for a typo in a section's name; no more.
  auto plan = sbpipe({"plan", "--tag", "v1.9.0", "--config", path.string()});
  CHECK(plan.exit_code == 2);
  CHECK(plan.out.empty());
  CHECK(plan.err == expected);
  auto run = sbpipe({"run", "--tag", "v1.9.0", "--config", path.string(), "--dry-run"});
  CHECK(run.exit_code == 2);
  CHECK(run.err == expected);
  auto submit = sbpipe({"submit", "--repo", "me/talos-build", "--tag", "v1.9.0", "--config", path.string(), "--dry-run"});
  CHECK(submit.exit_code == 2);
  CHECK(submit.err == expected);
}

TEST_CASE("config: check names values of the wrong type with their path and the type they must have") {
  TempDir dir;
  auto path = dir / "types.yaml";
  write_file(path,
             "imager:\n  outputs: iso\n"
             "serve:\n  threads: many\n"
             "run:\n  make_latest: maybe\n");
  auto check = sbpipe({"config", "check", path.string()});
  CHECK(check.exit_code == 2);
  CHECK(check.err == "sbpipe: error: " + path.string() +
                         ": imager.outputs must be a list of strings; serve.threads must be a number; run.make_latest must be "
                         "true or false\n");
  write_file(path, "run: [repo]\n");
  CHECK(sbpipe({"config", "check", path.string()}).err == "sbpipe: error: " + path.string() + ": run must be a mapping\n");
  auto missing = sbpipe({"config", "check", (dir / "nope.yaml").string()});
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("sbpipe: error: --config: " + (dir / "nope.yaml").string()) == 0);
}

TEST_CASE("config: check reads a keyless rule's trusted root as the input check will, and names what is wrong") {
  TempDir dir;
  auto path = dir / "keyless.yaml";
  const std::string root = (dir / "trusted_root.json").string();
  write_file(path, "imager:\n  image_verification:\n    trusted_root: " + root +
                       "\n    rules:\n      - image: ghcr.io/siderolabs/*\n        keyless:\n"
                       "          issuer: https://accounts.google.com\n          subject: release@example.test\n");
  auto missing = sbpipe({"config", "check", path.string()});
  CHECK(missing.exit_code == 2);
  CHECK_MESSAGE(missing.err.starts_with("sbpipe: error: " + path.string() + ": imager.image_verification.trusted_root: "),
                missing.err);
  CHECK(missing.err.find(root) != std::string::npos);
  write_file(dir / "trusted_root.json", "{\"mediaType\": \"application/vnd.dev.sigstore.trustedroot+json;version=0.1\"}");
  auto empty = sbpipe({"config", "check", path.string()});
  CHECK(empty.exit_code == 2);
  CHECK(empty.err.find(root) != std::string::npos);
  CHECK(std::count(empty.err.begin(), empty.err.end(), '\n') == 1);  // one line
}

}  // TEST_SUITE("integration")

}  // namespace
}  // namespace sbpipe::test

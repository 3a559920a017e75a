// Unit tests of `sbpipe run`'s pure parts: the imager command template, the
// run: config section, the source URL that provenance records, and child
// processes (the local executor's queue: test_local_executor.cpp).

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "core/subprocess.h"
#include "pipeline/imager_command.h"
#include "pipeline/imager_exit.h"
#include "pipeline/provenance.h"
#include "pipeline/run_config.h"
#include "pipeline/run_text.h"
#include "pipeline/runner.h"
#include "support/process.h"

using namespace sbpipe;
using namespace sbpipe::test;
namespace fs = std::filesystem;

TEST_SUITE("unit") {

TEST_CASE("imager command: words split with quotes, placeholders filled, {args} spliced") {
  auto words = split_command("podman run --rm -v '{keys}:/secureboot:ro' -v \"{out}:/out\" {image} {args}");
  REQUIRE(words);
  CHECK(*words == std::vector<std::string>{"podman", "run", "--rm", "-v", "{keys}:/secureboot:ro", "-v", "{out}:/out", "{image}",
                                           "{args}"});
  CHECK(split_command("a 'b").error().message().find("unterminated quote") != std::string::npos);
  ImagerSlots slots{"/k", "/o", "ghcr.io/siderolabs/imager:v1.9.0", {"iso", "--arch", "amd64", "--output", "/out"}};
  auto argv = expand_imager_command(*words, slots);
  REQUIRE(argv);
  CHECK(*argv == std::vector<std::string>{"podman", "run", "--rm", "-v", "/k:/secureboot:ro", "-v", "/o:/out",
                                          "ghcr.io/siderolabs/imager:v1.9.0", "iso", "--arch", "amd64", "--output", "/out"});
  auto unknown = expand_imager_command({"x", "{output}", "{args}"}, slots);
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().message().find("unknown placeholder {output}") != std::string::npos);
  auto no_args = expand_imager_command({"x", "{image}"}, slots);
  REQUIRE_FALSE(no_args);
  CHECK(no_args.error().message().find("needs the word {args}") != std::string::npos);
}

TEST_CASE("run: section: every key read, the command as a string or a list, mistakes named") {
  auto s = parse_run_config(
      "imager: {outputs: [iso]}\nrun:\n  repo: o/r\n  target: dir:/srv/pxe\n  state_dir: /var/lib/sbpipe\n"
      "  keys_dir: /etc/k\n  imager_command: docker run -v {out}:/out {image} {args}\n"
      "  installer_repository: ghcr.io/o/installer\n  make_latest: false\n  plain_http: true\n"
      "  registry_password_file: /run/p\n  require_cmdline: [lockdown=integrity]\n",
      "sbpipe.yaml");
  REQUIRE(s);
  CHECK(s->repo == "o/r");
  CHECK(s->target == "dir:/srv/pxe");
  CHECK(s->imager_command == std::vector<std::string>{"docker", "run", "-v", "{out}:/out", "{image}", "{args}"});
  CHECK_FALSE(s->make_latest);
  CHECK(s->registry.plain_http);
  CHECK(s->registry.password_file == "/run/p");
  auto listed = parse_run_config("run:\n  imager_command: [/usr/bin/imager, '{args}']\n  imager_output: '{out}'\n", "f");
  REQUIRE(listed);
  CHECK(listed->imager_command == std::vector<std::string>{"/usr/bin/imager", "{args}"});
  auto defaults = parse_run_config("imager: {}\n", "f");
  REQUIRE(defaults);
  CHECK(defaults->imager_command.front() == "docker");
  CHECK(defaults->make_latest);
  auto typo = parse_run_config("run:\n  instaler_repository: x\n", "sbpipe.yaml");
  REQUIRE_FALSE(typo);
  CHECK(typo.error().message().find("unknown key run.instaler_repository") != std::string::npos);
  CHECK(parse_run_config("run:\n  make_latest: maybe\n", "f").error().message().find("run.make_latest must be true or false") !=
        std::string::npos);
  CHECK(parse_run_config("run:\n  imager_command: imager {arguments}\n", "f").error().kind() == ErrorKind::config);
}

TEST_CASE("provenance: remote URLs become public https URLs without credentials") {
  CHECK(public_source_url("git@github.com:owner/talos-build.git") == "https://github.com/owner/talos-build");
  CHECK(public_source_url("https://x-access-token:ghs_abc@github.com/owner/r.git") == "https://github.com/owner/r");
  CHECK(public_source_url("ssh://git@gitea.lan:2222/owner/r") == "https://gitea.lan/owner/r");
  CHECK(public_source_url("https://github.com/owner/r/") == "https://github.com/owner/r");
  CHECK(public_source_url("/srv/git/r.git") == "");
}

TEST_CASE("subprocess: exit status, signals, and secrets kept out of the child's environment") {
  TempDir dir;
  CHECK(run_child(ChildSpec{{"sh", "-c", "exit 3"}, {}, {}, std::nullopt}) == 3);
  CHECK(run_child(ChildSpec{{"sh", "-c", "kill -9 $$"}, {}, {}, std::nullopt}) == 128 + 9);
  ::setenv("GITHUB_TOKEN", "ghp_should_not_pass", 1);
  ::setenv("GH_TOKEN", "gh_should_not_pass_either", 1);
  auto log = dir / "env.log";
  ChildSpec spec{{"sh", "-c", "env; echo to-stderr >&2"}, secret_env_names(), {{"EXTRA", "1"}}, log};
  CHECK(run_child(spec) == 0);
  ::unsetenv("GITHUB_TOKEN");
  ::unsetenv("GH_TOKEN");
  auto env = read_file(log);
  CHECK(env.find("ghp_should_not_pass") == std::string::npos);
  CHECK(env.find("gh_should_not_pass_either") == std::string::npos);
  CHECK(env.find("EXTRA=1\n") != std::string::npos);
  CHECK(env.find("to-stderr") != std::string::npos);
  CHECK(run_child(ChildSpec{{"/nonexistent/imager"}, {}, {}, std::nullopt})
            .error()
            .message()
            .find("cannot start /nonexistent/imager") != std::string::npos);
}

TEST_CASE("imager's exit status: named by imager 1.14's categories; only dependency and I/O are retried") {
  CHECK(imager_exit_text(2) == "imager: invalid input (exit 2)");
  CHECK(imager_exit_text(3) == "imager: unsupported (exit 3)");
  CHECK(imager_exit_text(4) == "imager: environment (exit 4)");
  CHECK(imager_exit_text(5) == "imager: dependency (exit 5)");
  CHECK(imager_exit_text(6) == "imager: I/O error (exit 6)");
  CHECK(imager_exit_text(7) == "imager: install failed (exit 7)");
  CHECK(imager_exit_text(1) == "imager: unknown error (exit 1)");
  CHECK(imager_exit_text(137) == "imager: exit 137");
  for (int code : {1, 2, 3, 4, 7, 137}) CHECK_MESSAGE(imager_exit(code).retry == ImagerRetry::no, code);
  for (int code : {5, 6}) CHECK_MESSAGE(imager_exit(code).retry == ImagerRetry::yes, code);
}

}  // TEST_SUITE("unit")

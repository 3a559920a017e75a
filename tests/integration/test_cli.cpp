// The command line as a user types it, mistakes included, checked against the
// exact text sbpipe prints. The behaviour modelled is cobra's (spf13/cobra
// command.go: "unknown command %q for %q", "Did you mean this?", "Run '%v
// --help' for usage."), which gh, kubectl and talosctl share.

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "integration/machine_output.h"
#include "integration/push_helpers.h"

namespace sbpipe::test {
namespace {

TEST_SUITE("integration") {

TEST_CASE("cli: --version belongs to sbpipe alone; after a subcommand it is an error naming the flag") {
  auto root = sbpipe({"--version"});
  CHECK(root.exit_code == 0);
  CHECK(root.out.starts_with("sbpipe "));
  CHECK(root.out.ends_with("\n"));
  auto command = sbpipe({"version"});
  CHECK(command.exit_code == 0);
  CHECK(command.out == root.out);

  auto run = sbpipe({"run", "--version", "v1.9.0"});
  CHECK(run.exit_code == 2);
  CHECK(run.out.empty());
  CHECK(run.err ==
        "sbpipe: unknown flag --version for \"sbpipe run\": the release is chosen with --tag (sbpipe run --tag v1.9.0); "
        "sbpipe's own version is 'sbpipe version'\n\nRun 'sbpipe run --help' for usage.\n");
  // plan called it --version once: refused, pointing at --tag.
  auto plan = sbpipe({"plan", "--version", "v1.9.0"});
  CHECK(plan.exit_code == 2);
  CHECK(plan.err ==
        "sbpipe: unknown flag --version for \"sbpipe plan\": the release is chosen with --tag (sbpipe plan --tag v1.9.0); "
        "sbpipe's own version is 'sbpipe version'\n\nRun 'sbpipe plan --help' for usage.\n");
  auto verify = sbpipe({"verify", "--version"});
  CHECK(verify.exit_code == 2);
  CHECK(verify.err ==
        "sbpipe: unknown flag --version for \"sbpipe verify\": sbpipe's own version is 'sbpipe version'\n\n"
        "Run 'sbpipe verify --help' for usage.\n");
  auto before = sbpipe({"--version", "run", "--tag", "v1.9.0"});
  CHECK(before.exit_code == 2);
  CHECK(before.err.starts_with("sbpipe: unknown flag --version for \"sbpipe run\""));

  auto tagged = sbpipe({"plan", "--tag", "v1.9.0", "-o", "shell"});
  CHECK(tagged.exit_code == 0);
  CHECK(tagged.out.find("ghcr.io/siderolabs/imager:v1.9.0 secureboot-installer") != std::string::npos);
}

TEST_CASE("cli: unknown commands and flags are named, with what was probably meant") {
  auto typo = sbpipe({"push-instaler"});
  CHECK(typo.exit_code == 2);
  CHECK(typo.err ==
        "sbpipe: unknown command \"push-instaler\" for \"sbpipe\"\n\nDid you mean this?\n\tpush-installer\n\n"
        "Run 'sbpipe --help' for usage.\n");
  auto far = sbpipe({"deploy"});
  CHECK(far.exit_code == 2);
  CHECK(far.err == "sbpipe: unknown command \"deploy\" for \"sbpipe\"\n\nRun 'sbpipe --help' for usage.\n");

  // CLI11 alone would say "--ref is required" and hide the typo.
  auto flag = sbpipe({"push-installer", "installer.tar", "--reff", "registry.example/talos/installer:v1.9.0"});
  CHECK(flag.exit_code == 2);
  CHECK(flag.err ==
        "sbpipe: unknown flag --reff for \"sbpipe push-installer\"\n\nDid you mean this?\n\t--ref\n\n"
        "Run 'sbpipe push-installer --help' for usage.\n");
  auto joined = sbpipe({"plan", "--tag", "v1.9.0", "--formt=shell"});
  CHECK(joined.exit_code == 2);
  CHECK(joined.err ==
        "sbpipe: unknown flag --formt for \"sbpipe plan\"\n\nDid you mean this?\n\t--format\n\n"
        "Run 'sbpipe plan --help' for usage.\n");
  // Other usage errors end with the same pointer.
  auto missing = sbpipe({"plan"});
  CHECK(missing.exit_code == 2);
  CHECK(missing.err == "sbpipe: --tag is required\n\nRun 'sbpipe plan --help' for usage.\n");
  auto choice = sbpipe({"plan", "--tag", "v1.9.0", "-o", "toml"});
  CHECK(choice.exit_code == 2);
  CHECK(choice.err.find("--format must be json, yaml, argo or shell") != std::string::npos);
}

TEST_CASE("cli: bare sbpipe and sbpipe help [COMMAND] print usage") {
  auto help = sbpipe({"--help"});
  REQUIRE(help.exit_code == 0);
  CHECK(help.out.starts_with(
      "sbpipe: release pipeline for Talos Linux images signed for UEFI SecureBoot\nUsage: sbpipe [OPTIONS]"));
  for (const char* command : {"push-installer", "plan", "run", "completion", "version", "help"})
    CHECK_MESSAGE(help.out.find(std::string("\n  ") + command + " ") != std::string::npos, command);
  auto bare = sbpipe({});
  CHECK(bare.exit_code == 0);
  CHECK(bare.out == help.out);
  auto help_command = sbpipe({"help"});
  CHECK(help_command.exit_code == 0);
  CHECK(help_command.out == help.out);

  auto push_help = sbpipe({"push-installer", "--help"});
  REQUIRE(push_help.exit_code == 0);
  CHECK(push_help.out.find("Usage: sbpipe push-installer [OPTIONS] [INPUT...]") != std::string::npos);
  auto help_push = sbpipe({"help", "push-installer"});
  CHECK(help_push.exit_code == 0);
  CHECK(help_push.out == push_help.out);
  // Every command's help lists the global flags, and choices as choices.
  CHECK(push_help.out.find("Global flags (before or after the command):\n  --log-level {trace,debug,info,warn,error,off}=info") !=
        std::string::npos);
  CHECK(push_help.out.find("  --validate-only ") != std::string::npos);
  auto plan_help = sbpipe({"help", "plan"});
  CHECK(plan_help.out.find("-o,--format {json,yaml,argo,shell}=json") != std::string::npos);
  CHECK(plan_help.out.find("--version") == std::string::npos);

  auto unknown = sbpipe({"help", "pln"});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err == "sbpipe: error: unknown help topic \"pln\" (did you mean plan or run?); run 'sbpipe --help' for usage\n");
}

TEST_CASE("cli: short flags as gh and kubectl have them") {
  for (const char* command : {"run", "upload-assets", "finalize", "submit"}) {
    auto help = sbpipe({command, "--help"});
    CHECK_MESSAGE(help.out.find("-R,--repo") != std::string::npos, command);
  }
  for (const char* command : {"serve", "submit"}) {
    auto help = sbpipe({command, "--help"});
    CHECK_MESSAGE(help.out.find("-n,--namespace") != std::string::npos, command);
  }
  for (const char* command : {"run", "upload-assets", "finalize", "verify", "keys", "plan"}) {
    auto help = sbpipe({command, "--help"});
    if (std::string(command) == "keys") help = sbpipe({"keys", "check", "--help"});
    CHECK_MESSAGE(help.out.find("-o,--format {") != std::string::npos, command);
  }
}

// What bash does on <TAB>: COMP_WORDS/COMP_CWORD set, the function called,
// COMPREPLY read (bash manual, "Programmable Completion").
std::string complete_bash(const std::string& words, int cword) {
  // The script asks the binary (`sbpipe __complete`), found as bash would: on PATH.
  std::string script = "PATH=$(dirname \"$SBPIPE\"):$PATH && source <(\"$SBPIPE\" completion bash) && COMP_WORDS=(" + words +
                       ") && COMP_CWORD=" + std::to_string(cword) + " && _sbpipe && echo \"${COMPREPLY[*]}\"";
  auto r = run({"bash", "-c", script}, {{"SBPIPE", sbpipe_binary()}});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  return r.out;
}

TEST_CASE("cli: completion bash completes commands and each command's flags") {
  CHECK(complete_bash("sbpipe pl", 1) == "plan\n");
  CHECK(complete_bash("sbpipe push", 1) == "push-installer\n");
  CHECK(complete_bash("sbpipe plan --ta", 2) == "--tag\n");
  CHECK(complete_bash("sbpipe --log-level debug run --allow-key", 4) == "--allow-key-rotation\n");
  CHECK(complete_bash("sbpipe run --log-f", 2) == "--log-format\n");

  auto zsh = sbpipe({"completion", "zsh"});
  CHECK(zsh.exit_code == 0);
  CHECK(zsh.out.starts_with("#compdef sbpipe\nautoload -U +X bashcompinit && bashcompinit\n"));
  auto fish = sbpipe({"completion", "fish"});
  CHECK(fish.exit_code == 0);
  CHECK(fish.out.find("complete -c sbpipe -f -a '(__sbpipe_complete)'\n") != std::string::npos);
  auto bad = sbpipe({"completion", "powershell"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("shell must be bash, zsh or fish") != std::string::npos);
}

TEST_CASE("cli: -o json is versioned, and README.md's Machine output table names every command that has it") {
  auto version = sbpipe({"version", "-o", "json"});
  REQUIRE(version.exit_code == 0);
  check_machine_output("version", version.out);
  CHECK(version.out.starts_with("{\"schemaVersion\":1,"));
  auto version_doc = nlohmann::json::parse(version.out);
  CHECK(version_doc["version"] == SBPIPE_VERSION);
  CHECK(version_doc.contains("commit"));
  auto plan = sbpipe({"plan", "--tag", "v1.9.0", "-o", "json"});
  REQUIRE(plan.exit_code == 0);
  check_machine_output("plan", plan.out);
  auto argo = sbpipe({"plan", "--tag", "v1.9.0", "-o", "argo"});
  CHECK(argo.out.starts_with("[{"));  // Argo's withParam array stays an array

  // Every command whose --format offers json is in the table, and nothing else.
  auto documented = documented_machine_output();
  std::set<std::string> with_json, in_table;
  for (const auto& [command, fields] : documented) in_table.insert(command);
  for (const std::string command : {"push-installer", "verify", "keys check", "plan", "pxe-extract", "upload-assets", "finalize",
                                    "serve", "submit", "run", "version", "runs list", "runs show"}) {
    std::vector<std::string> args{"help"};
    for (size_t at = 0, next; at <= command.size(); at = next + 1) {
      next = command.find(' ', at);
      if (next == std::string::npos) next = command.size();
      args.push_back(command.substr(at, next - at));
    }
    auto help = sbpipe(args);
    REQUIRE_MESSAGE(help.exit_code == 0, help.err);
    auto format = help.out.find("--format {");
    if (format != std::string::npos &&
        help.out.substr(format, help.out.find('}', format) - format).find("json") != std::string::npos)
      with_json.insert(command);
  }
  CHECK(with_json == in_table);
}

}  // TEST_SUITE("integration")

}  // namespace
}  // namespace sbpipe::test

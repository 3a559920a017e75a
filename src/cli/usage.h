#pragma once
// How the sbpipe command line behaves around the commands themselves, the
// way cobra tools (gh, kubectl, crane, talosctl) behave:
//   - `--version` belongs to sbpipe alone (and the `version` command); after a
//     subcommand it is refused with a message naming the flag;
//   - an unknown command or flag is named, with "Did you mean this?" and a
//     pointer to --help (usage error, exit 2);
//   - every command's help ends with the global flags;
//   - `sbpipe help [COMMAND]` prints usage.

#include <optional>
#include <string>

#include "cli/app.h"

namespace sbpipe {

// A usage error as printed on stderr: the first line names the mistake, then
// an optional suggestion block and "Run '<command> --help' for usage.".
struct UsageProblem {
  std::string text;
};

// "sbpipe 0.1.0 (commit bf527bdb9dc9, built 2026-12-06T01:19:44Z, gcc 12.2.0,
// linux/amd64)": what --version and `version` print.
std::string version_line();

// Adds `version` and `help [COMMAND]`.
void add_version_command(CLI::App& app, CommandAction& action);
void add_help_command(CLI::App& app, CommandAction& action);

// After every subcommand exists: gives each one a hidden `--version` (unless
// it has its own) so that the root's flag never answers after a subcommand,
// and a footer with its examples (cli/examples.h) and the root's flags; a
// command of commands may be given alone (see bare_group).
void finish_command_tree(CLI::App& app);

// The problems CLI11 leaves for after parsing, most telling first: an
// unknown command, an unknown flag (checked before CLI11's "--x is
// required", which would hide the typo), `--version` after a subcommand.
// `parse_failed` says CLI11 threw; then only the leftovers are judged.
std::optional<UsageProblem> leftover_problem(const CLI::App& app);

// The help of the chosen command when it is a command of commands given
// alone (`sbpipe keys`): it lists its commands. nullopt otherwise.
std::optional<std::string> bare_group_help(const CLI::App& app);

// "Run 'sbpipe plan --help' for usage." for the deepest chosen command.
std::string help_pointer(const CLI::App& app);

}  // namespace sbpipe

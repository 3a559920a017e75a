#include "cli/usage.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>

#include "cli/examples.h"
#include "cli/output.h"
#include "core/build_info.h"
#include "core/suggest.h"
#include "core/table.h"

namespace sbpipe {
namespace {

std::string command_path(const CLI::App* cmd) {
  std::string path = cmd->get_name();
  for (const CLI::App* up = cmd->get_parent(); up != nullptr; up = up->get_parent()) path = up->get_name() + " " + path;
  return path;
}

// The length of "sbpipe " at the start of command_path(): the path below the root.
size_t parent_path_length(const CLI::App* cmd) {
  const CLI::App* root = cmd;
  while (root->get_parent() != nullptr) root = root->get_parent();
  return root->get_name().size() + 1;
}

// The deepest subcommand the user chose, or the root.
const CLI::App* chosen_command(const CLI::App& app) {
  const CLI::App* cmd = &app;
  while (true) {
    auto chosen = cmd->get_subcommands();
    if (chosen.empty()) return cmd;
    cmd = chosen.front();
  }
}

std::vector<std::string> command_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* sub :
       app.get_subcommands([](const CLI::App* s) { return !s->get_name().empty() && !s->get_group().empty(); }))
    names.push_back(sub->get_name());
  return names;
}

std::vector<std::string> flag_names(const CLI::App& cmd) {
  std::vector<std::string> names;
  for (const CLI::App* at = &cmd; at != nullptr; at = at->get_parent()) {
    for (const CLI::Option* opt :
         at->get_options([](const CLI::Option* o) { return o->nonpositional() && !o->get_group().empty(); })) {
      for (const auto& name : opt->get_lnames()) names.push_back("--" + name);
      for (const auto& name : opt->get_snames()) names.push_back("-" + name);
    }
  }
  return names;
}

std::string did_you_mean(const std::vector<std::string>& close) {
  if (close.empty()) return "";
  std::string text = "\n\nDid you mean this?";
  for (const auto& s : close) text += "\n\t" + s;
  return text;
}

std::string global_flags_footer(const CLI::App& root) {
  Table table;
  for (const CLI::Option* opt :
       root.get_options([](const CLI::Option* o) { return o->nonpositional() && !o->get_group().empty(); })) {
    if (opt->check_lname("help") || opt->check_lname("version"))
      continue;  // each command has its own --help; --version is the root's alone
    std::string left = opt->get_name(false, true);
    if (!opt->get_type_name().empty() && opt->get_expected_max() > 0) left += " " + opt->get_type_name();
    if (!opt->get_default_str().empty()) left += "=" + opt->get_default_str();
    table.add_row({std::move(left), opt->get_description()});
  }
  return "Global flags (before or after the command):\n" + table.render("  ");
}

}  // namespace

std::string help_pointer(const CLI::App& app) { return "Run '" + command_path(chosen_command(app)) + " --help' for usage."; }

std::string version_line() {
  const BuildInfo& b = build_info();
  return "sbpipe " + b.version + " (commit " + b.commit + ", built " + b.date + ", " + b.compiler + ", " + b.platform + ")";
}

void add_version_command(CLI::App& app, CommandAction& action) {
  auto format = std::make_shared<std::string>("text");
  CLI::App* cmd = app.add_subcommand("version", "Print sbpipe's version, the commit and when it was built");
  add_format_flag(*cmd, *format, {"text", "json", "yaml"}, "One line, or a document (as kubectl version -o json)");
  cmd->callback([format, &action] {
    action = [format]() -> Status {
      if (auto st = check_choice("--format", *format, {"text", "json", "yaml"}); !st) return st;
      const BuildInfo& b = build_info();
      if (*format == "text")
        print_result_line(version_line());
      else
        print_structured_result(*format, {{"version", b.version},
                                          {"commit", b.commit},
                                          {"buildDate", b.date},
                                          {"compiler", b.compiler},
                                          {"platform", b.platform}});
      return {};
    };
  });
}

void add_help_command(CLI::App& app, CommandAction& action) {
  auto topic = std::make_shared<std::vector<std::string>>();
  CLI::App* cmd = app.add_subcommand("help", "Print the usage of sbpipe or of one command (sbpipe help COMMAND)");
  cmd->add_option("command", *topic, "The command to describe");
  cmd->callback([topic, &app, &action] {
    action = [topic, &app]() -> Status {
      if (topic->empty()) {
        // Not app.help(): that describes the chosen subcommand, `help` itself.
        print_result_text(app.get_formatter()->make_help(&app, app.get_name(), CLI::AppFormatMode::Normal));
        return {};
      }
      // `sbpipe help keys check` walks the path.
      const CLI::App* at = &app;
      std::string prefix;
      for (const std::string& name : *topic) {
        const CLI::App* next = nullptr;
        for (const CLI::App* sub : at->get_subcommands([](const CLI::App* s) { return !s->get_name().empty(); }))
          if (sub->get_name() == name) next = sub;
        if (next == nullptr) {  // one log line: the suggestions inline
          std::string close;
          for (const auto& s : suggestions_for(name, command_names(*at))) close += (close.empty() ? "" : " or ") + s;
          return fail(ErrorKind::usage, "unknown help topic \"" + name + "\"" +
                                            (close.empty() ? "" : " (did you mean " + close + "?)") +
                                            "; run 'sbpipe --help' for usage");
        }
        prefix = prefix.empty() ? at->get_name() : prefix + " " + at->get_name();
        at = next;
      }
      print_result_text(at->help(prefix));
      return {};
    };
  });
}

namespace {

void finish_commands(CLI::App& parent, const std::string& footer) {
  for (CLI::App* sub : parent.get_subcommands([](const CLI::App* s) { return !s->get_name().empty(); })) {
    if (sub->get_option_no_throw("--version") == nullptr) {
      // Catches `sbpipe run --version v1.9.0` (and its value) before the
      // root's flag would; leftover_problem() then refuses it.
      sub->add_option("--version")->expected(0, 1)->group("");
    }
    // A command's own footer (run's steps) comes first, then its examples, then the global flags.
    std::string own = sub->get_footer();
    std::string examples = examples_for(command_path(sub).substr(parent_path_length(sub)));
    std::string text = own.empty() ? "" : own + "\n\n";
    if (!examples.empty()) text += examples + "\n";
    sub->footer(text + footer);
    // A command of commands alone (`sbpipe keys`) lists its commands, as
    // `gh release` does: sbpipe_main prints its help.
    if (!sub->get_subcommands([](const CLI::App* s) { return !s->get_group().empty(); }).empty()) sub->require_subcommand(0, 1);
    finish_commands(*sub, footer);
  }
}

}  // namespace

void finish_command_tree(CLI::App& app) {
  app.footer(examples_for(""));
  finish_commands(app, global_flags_footer(app));
}

std::optional<std::string> bare_group_help(const CLI::App& app) {
  const CLI::App* cmd = chosen_command(app);
  if (cmd == &app || command_names(*cmd).empty()) return std::nullopt;
  std::string prefix = command_path(cmd->get_parent());  // as `sbpipe help keys` shows it
  return cmd->help(prefix);
}

std::optional<UsageProblem> leftover_problem(const CLI::App& app) {
  const CLI::App* cmd = chosen_command(app);
  if (cmd->get_name() == "__complete") return std::nullopt;  // its words are a command line being typed
  const std::vector<std::string> left = app.remaining(true);
  const std::string path = command_path(cmd);
  if (!command_names(*cmd).empty()) {  // a command of commands (sbpipe, sbpipe keys) got a word it does not know
    for (const auto& arg : left) {
      if (arg.starts_with("-")) break;
      return UsageProblem{"unknown command \"" + arg + "\" for \"" + path + "\"" +
                          did_you_mean(suggestions_for(arg, command_names(*cmd))) + "\n\n" + help_pointer(app)};
    }
  }
  if (cmd != &app) {
    const CLI::Option* version = cmd->get_option_no_throw("--version");
    const CLI::Option* root_version = app.get_option_no_throw("--version");
    if ((version != nullptr && version->count() > 0) || (root_version != nullptr && root_version->count() > 0)) {
      std::string hint =
          cmd->get_option_no_throw("--tag") != nullptr
              ? ": the release is chosen with --tag (" + path + " --tag v1.9.0); sbpipe's own version is 'sbpipe version'"
              : ": sbpipe's own version is 'sbpipe version'";
      return UsageProblem{"unknown flag --version for \"" + path + "\"" + hint + "\n\n" + help_pointer(app)};
    }
  }
  for (const auto& arg : left) {
    if (!arg.starts_with("-") || arg == "-" || arg == "--") continue;
    std::string flag = arg.substr(0, arg.find('='));
    return UsageProblem{"unknown flag " + flag + " for \"" + path + "\"" + did_you_mean(suggestions_for(flag, flag_names(*cmd))) +
                        "\n\n" + help_pointer(app)};
  }
  return std::nullopt;
}

}  // namespace sbpipe

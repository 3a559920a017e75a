#include "cli/usage.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>

#include "cli/output.h"
#include "cli/suggest.h"
#include "core/table.h"

namespace sbpipe {
namespace {

std::string command_path(const CLI::App* cmd) {
  std::string path = cmd->get_name();
  for (const CLI::App* up = cmd->get_parent(); up != nullptr; up = up->get_parent()) path = up->get_name() + " " + path;
  return path;
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

void add_version_command(CLI::App& app, CommandAction& action) {
  auto format = std::make_shared<std::string>("text");
  CLI::App* cmd = app.add_subcommand("version", "Print sbpipe's version");
  add_format_flag(*cmd, *format, {"text", "json"}, "sbpipe VERSION, or a JSON object");
  cmd->callback([format, &action] {
    action = [format]() -> Status {
      if (auto st = check_choice("--format", *format, {"text", "json"}); !st) return st;
      if (*format == "json")
        print_json_result({{"version", SBPIPE_VERSION}});
      else
        print_result_line(std::string("sbpipe ") + SBPIPE_VERSION);
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
    // A command's own footer (run's steps) comes first, then the global flags.
    std::string own = sub->get_footer();
    sub->footer(own.empty() ? footer : own + "\n\n" + footer);
    finish_commands(*sub, footer);
  }
}

}  // namespace

void finish_command_tree(CLI::App& app) { finish_commands(app, global_flags_footer(app)); }

std::optional<UsageProblem> leftover_problem(const CLI::App& app) {
  const CLI::App* cmd = chosen_command(app);
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

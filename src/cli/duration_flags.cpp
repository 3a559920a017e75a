#include "cli/duration_flags.h"

#include <CLI/CLI.hpp>

#include "core/duration.h"

#include <variant>

namespace sbpipe {
namespace {

// The value in the one syntax, or the message a usage error prints.
std::variant<std::chrono::milliseconds, std::string> parse(const DurationFlag& flag, const std::string& text) {
  bool bare = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
  std::chrono::milliseconds value{};
  if (bare && flag.bare_unit.count() > 0) {
    if (text.size() > 12) return flag.name + " '" + text + "': too large";
    value = flag.bare_unit * std::stoll(text);
  } else {
    auto parsed = parse_duration(text, flag.name);
    if (!parsed) return parsed.error().message();
    value = *parsed;
  }
  if (value < flag.min || value > flag.max)
    return flag.name + " '" + text + "': must be between " + format_duration(flag.min) + " and " + format_duration(flag.max);
  return value;
}

}  // namespace

CLI::Option* add_duration_flag(CLI::App& cmd, const DurationFlag& flag, std::function<void(std::chrono::milliseconds)> set) {
  auto check = [flag](std::string& text) -> std::string {
    auto result = parse(flag, text);
    return std::holds_alternative<std::string>(result) ? std::get<std::string>(result) : std::string();
  };
  auto apply = [flag, set](const std::string& text) {
    auto result = parse(flag, text);
    if (auto* value = std::get_if<std::chrono::milliseconds>(&result)) set(*value);
  };
  const auto unit = flag.bare_unit;
  std::string bare = unit == std::chrono::minutes(1)   ? " (a bare number: minutes)"
                     : unit == std::chrono::seconds(1) ? " (a bare number: seconds)"
                     : unit.count() > 0                ? " (a bare number: milliseconds)"
                                                       : "";
  CLI::Option* option = cmd.add_option(flag.name)
                            ->description(flag.description + bare)
                            ->type_name("DURATION")
                            ->default_str(format_duration(flag.value))
                            ->check(CLI::Validator(check, "", "DURATION"))  // no description: the type name says it
                            ->each(apply);
  if (!flag.legacy_ms_name.empty()) {
    DurationFlag legacy = flag;
    legacy.name = flag.legacy_ms_name;
    legacy.bare_unit = std::chrono::milliseconds(1);
    cmd.add_option(flag.legacy_ms_name)
        ->description("The same in milliseconds (the old spelling)")
        ->check(CLI::Validator(
            [legacy](std::string& text) -> std::string {
              auto result = parse(legacy, text);
              return std::holds_alternative<std::string>(result) ? std::get<std::string>(result) : std::string();
            },
            "MS"))
        ->each([legacy, set](const std::string& text) {
          auto result = parse(legacy, text);
          if (auto* value = std::get_if<std::chrono::milliseconds>(&result)) set(*value);
        })
        ->group("");
  }
  return option;
}

}  // namespace sbpipe

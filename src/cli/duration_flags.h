#pragma once
// Duration flags in the one syntax every command takes (core/duration.h:
// 30s, 5m, 1h30m, 250ms), with the old spellings kept: the former
// milliseconds flag as a hidden alias (--retry-delay-ms 20 is --retry-delay
// 20ms), and for flags that keep their name, a bare number in the unit they
// used to take (--poll-interval 5 is 5s, --wait-timeout 240 is 240m).

#include <chrono>
#include <functional>
#include <string>

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace sbpipe {

struct DurationFlag {
  std::string name;                        // "--retry-delay"
  std::string description;                 // without the default
  std::chrono::milliseconds value;         // the default, then what was given
  std::chrono::milliseconds bare_unit{0};  // a bare number's unit (the old spelling); 0: refused
  std::string legacy_ms_name;              // "--retry-delay-ms": a hidden alias in milliseconds; "" for none
  std::chrono::milliseconds min{1}, max{std::chrono::hours(24 * 7)};
};

// Adds the flag (and its alias); `set` receives each value given, checked
// against [min, max]. A bad value is a usage error naming the flag and the
// syntax. The help shows the default in the same syntax (`=1s`).
CLI::Option* add_duration_flag(CLI::App& cmd, const DurationFlag& flag, std::function<void(std::chrono::milliseconds)> set);

}  // namespace sbpipe

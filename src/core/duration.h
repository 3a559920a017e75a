#pragma once
// Durations as people write them, in one syntax for every flag and config
// value: Go's time.ParseDuration form (what kubectl, argo and talosctl take:
// "30s", "5m", "1h30m", "250ms", "1.5s"), a sequence of decimal numbers each
// with a unit (ms, s, m, h). A bare number is refused: its unit would be a
// guess.

#include <chrono>
#include <string>
#include <string_view>

#include "core/error.h"

namespace sbpipe {

// usage error "<what> 'TEXT': expected a duration such as 30s, 5m or 1h30m"
// for anything else, and for a negative or an overflowing value.
Result<std::chrono::milliseconds> parse_duration(std::string_view text, std::string_view what);

// The short form people read, which parse_duration reads back (days
// aside): "250ms", "4.2s", "30s", "3m2s", "5m", "2h5m", "3d4h". Above a
// minute seconds are whole, above an hour minutes, above a day hours; a
// zero last part is left out.
std::string format_duration(std::chrono::milliseconds duration);

}  // namespace sbpipe

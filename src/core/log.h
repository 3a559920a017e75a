#pragma once
// Logging set-up: one spdlog logger writing to stderr, every message redacted
// (see redact.h). Text by default, one JSON object per line with
// LogFormat::json. stdout stays reserved for results a machine reads.
// A text record is one line: control characters in it (CR, LF, ESC, ...)
// are written escaped, so that a value from outside (a header) cannot forge
// or recolour log lines. JSON records escape them by JSON's rules.

#include <string>
#include <string_view>

#include "core/error.h"

namespace sbpipe {

enum class LogFormat { text, json };

// Parses "text" or "json".
Result<LogFormat> parse_log_format(std::string_view name);

// "\n", "\r" and "\xNN" for the control characters (and DEL) of `text`; tabs
// and everything else (UTF-8 too) unchanged.
std::string escape_controls(std::string_view text);

// Installs the default logger. level: trace, debug, info, warn, error, off.
Status setup_logging(LogFormat format, std::string_view level);

} // namespace sbpipe

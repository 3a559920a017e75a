#pragma once
// Logging set-up: one spdlog logger writing to stderr, every message redacted
// (see redact.h). Text by default, one JSON object per line with
// LogFormat::json. stdout stays reserved for results a machine reads.

#include <string_view>

#include "core/error.h"

namespace sbpipe {

enum class LogFormat { text, json };

// Parses "text" or "json".
Result<LogFormat> parse_log_format(std::string_view name);

// Installs the default logger. level: trace, debug, info, warn, error, off.
Status setup_logging(LogFormat format, std::string_view level);

} // namespace sbpipe

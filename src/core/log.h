#pragma once
// Logging set-up: one spdlog logger writing to stderr, every message redacted
// (see redact.h). Text by default, one JSON object per line with
// LogFormat::json. stdout stays reserved for results a machine reads.
// A text record is one line: control characters in it (CR, LF, ESC, ...)
// are written escaped, so that a value from outside (a header) cannot forge
// or recolour log lines. JSON records escape them by JSON's rules.

#include <memory>
#include <string>
#include <string_view>

#include "core/error.h"

namespace spdlog {
class logger;
namespace details {
class thread_pool;
}
}  // namespace spdlog

namespace sbpipe {

enum class LogFormat { text, json };

// Parses "text" or "json".
Result<LogFormat> parse_log_format(std::string_view name);

// "\n", "\r" and "\xNN" for the control characters (and DEL) of `text`; tabs
// and everything else (UTF-8 too) unchanged.
std::string escape_controls(std::string_view text);

// Installs the default logger. level: trace, debug, info, warn, error, off.
Status setup_logging(LogFormat format, std::string_view level);

// While it lives, the default logger hands its records to one writer thread
// (same sink, level and redaction, same order): the threads that log only
// queue a record, and the writer writes a burst of records at once when no
// further one is queued (a kill -9 can lose what is still queued). For
// `serve`, whose I/O threads log a line per delivery and would otherwise
// spend much of their time in write(). When the queue is full, loggers wait
// (nothing is dropped). The destructor writes what is
// queued and restores the previous logger. Create and destroy it on one thread,
// while no other thread is starting to log through a logger it replaced.
class AsyncLogging {
public:
  AsyncLogging();
  ~AsyncLogging();
  AsyncLogging(const AsyncLogging&) = delete;
  AsyncLogging& operator=(const AsyncLogging&) = delete;

private:
  std::shared_ptr<spdlog::logger> m_previous;
  std::shared_ptr<spdlog::details::thread_pool> m_pool;
};

}  // namespace sbpipe

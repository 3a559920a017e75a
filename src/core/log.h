#pragma once
// Logging set-up: one spdlog logger writing to stderr, every message redacted
// (see redact.h). Text by default, one JSON object per line with
// LogFormat::json. stdout stays reserved for results a machine reads.
// A text record is one line: control characters in it (CR, LF, ESC, C1,
// bytes that are not UTF-8) are written escaped (core/escape.h), so that a
// value from outside (a header, a member name) cannot forge or recolour log
// lines. JSON records escape them by JSON's rules, C1 controls as \u0080..
//
// A JSON record is {"time":"2026-01-02T03:04:05.678Z","level":"info",
// "msg":"...", FIELDS...}: `time` is RFC 3339 in UTC with milliseconds, and
// an event logged with log_event() carries its fields as JSON fields
// (strings, numbers, booleans), after msg.

#include <chrono>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/escape.h"

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

// "2026-01-02T03:04:05.678Z": RFC 3339, UTC, millisecond precision.
std::string rfc3339_utc_ms(std::chrono::system_clock::time_point time);

enum class LogLevel { debug, info, warn, error };

// One structured field of an event: a key (a fixed word such as "delivery",
// "repo", "outcome", "ms") and a string, number or boolean.
struct LogField {
  std::string key;
  nlohmann::json value;
};

// What a text line shows of an event (a JSON record always has the message
// and every field): the message alone, when it already says what the fields
// hold, or the fields alone as key=value words.
enum class LogText { message, fields };

// Logs one event through the default logger: text lines as today's
// (LogText chooses), JSON records with real fields. Every value and the
// message pass through redact() first. Thread-safe as spdlog's logging.
void log_event(LogLevel level, std::string_view message, std::initializer_list<LogField> fields, LogText text = LogText::message);
void log_event(LogLevel level, std::string_view message, const std::vector<LogField>& fields, LogText text = LogText::message);

// The text form of an event's fields: "key=value key=value" (a string value
// bare, "-" when empty; other values as JSON writes them).
std::string fields_text(const std::vector<LogField>& fields);

// The format setup_logging() installed (text before it is called).
LogFormat current_log_format();

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

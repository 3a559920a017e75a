#include "core/log.h"

#include <spdlog/async.h>
#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <thread>

#include "core/escape.h"
#include "core/progress_board.h"
#include "core/redact.h"

namespace sbpipe {

std::string rfc3339_utc_ms(std::chrono::system_clock::time_point time) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
  auto secs = ms / 1000, frac = ms % 1000;
  if (frac < 0) frac += 1000, secs -= 1;  // before 1970: the fraction still counts forward
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z", fmt::gmtime(static_cast<std::time_t>(secs)), frac);
}

std::string fields_text(const std::vector<LogField>& fields) {
  std::string out;
  for (const auto& f : fields) {
    out += out.empty() ? "" : " ";
    if (f.value.is_string())
      out += f.key + "=" + (f.value.get<std::string>().empty() ? "-" : f.value.get<std::string>());
    else
      out += f.key + "=" + f.value.dump();
  }
  return out;
}

namespace {

// Marks a record logged by log_event() whose payload is already a JSON object
// (message and fields, redacted): a pointer only log_event() passes, so no
// text from outside can make the sink take a payload for a structured one.
constexpr char k_event_marker[] = "sbpipe-event";

std::atomic<LogFormat> g_format{LogFormat::text};

spdlog::level::level_enum spdlog_level(LogLevel level) {
  switch (level) {
  case LogLevel::debug: return spdlog::level::debug;
  case LogLevel::info: return spdlog::level::info;
  case LogLevel::warn: return spdlog::level::warn;
  case LogLevel::error: return spdlog::level::err;
  }
  return spdlog::level::info;
}

// Writes each record to stderr after redaction, as text or JSON. The sink
// takes no lock around a record (null_mutex): it uses no formatter state, so
// redaction and formatting run in parallel on the threads that log, and only
// the write itself is serialized. Batched (AsyncLogging: only its writer
// thread calls the sink), a record is written together with the ones before
// it once no further record is queued, or 64 KiB are pending: one write per
// burst instead of one per line, and no delay when the log is quiet.
class RedactingStderrSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
public:
  explicit RedactingStderrSink(LogFormat format) : m_format(format) {}
  // `queue`: the writer thread's queue (batching on), or nullptr (off).
  void set_batching(spdlog::details::thread_pool* queue) {
    std::lock_guard lock(m_write);
    write_pending();
    m_queue = queue;
  }

protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::string_view payload(msg.payload.data(), msg.payload.size());
    std::string line;
    auto level = spdlog::level::to_string_view(msg.level);
    if (m_format == LogFormat::json && msg.source.filename == k_event_marker && payload.starts_with("{\"")) {
      // log_event() redacted each value and wrote the object: time and
      // level go in front of its fields.
      line = "{\"time\":\"" + rfc3339_utc_ms(msg.time) + "\",\"level\":\"" + std::string(level.data(), level.size()) + "\"," +
             escape_json_c1(payload.substr(1)) + "\n";
    } else if (m_format == LogFormat::json) {
      nlohmann::ordered_json j = {
          {"time", rfc3339_utc_ms(msg.time)}, {"level", std::string(level.data(), level.size())}, {"msg", redact(payload)}};
      line = escape_json_c1(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)) + "\n";
    } else {
      std::string text = redact(payload);
      line = "sbpipe: ";
      if (msg.level != spdlog::level::info) line += std::string(level.data(), level.size()) + ": ";
      line += escape_controls(text) + "\n";
    }
    std::lock_guard lock(m_write);
    m_pending += line;
    if (m_queue == nullptr || m_queue->queue_size() == 0 || m_pending.size() >= 64 * 1024) write_pending();
  }
  void flush_() override {
    std::lock_guard lock(m_write);
    write_pending();
  }

private:
  void write_pending() {  // REQUIRES: m_write held
    if (m_pending.empty()) return;
    if (m_format == LogFormat::text && ProgressBoard::instance().enabled()) {
      ProgressBoard::instance().write_above(m_pending);  // above the live transfer display
    } else {
      std::fwrite(m_pending.data(), 1, m_pending.size(), stderr);
      std::fflush(stderr);
    }
    m_pending.clear();
  }

  LogFormat m_format;
  std::mutex m_write;
  std::string m_pending;                            // guarded by m_write
  spdlog::details::thread_pool* m_queue = nullptr;  // guarded by m_write
};

}  // namespace

Result<LogFormat> parse_log_format(std::string_view name) {
  if (name == "text") return LogFormat::text;
  if (name == "json") return LogFormat::json;
  return fail(ErrorKind::usage, "--log-format: expected text or json, got '" + std::string(name) + "'");
}

LogFormat current_log_format() { return g_format; }

Status setup_logging(LogFormat format, std::string_view level) {
  auto lvl = spdlog::level::from_str(std::string(level));
  if (lvl == spdlog::level::off && level != "off")
    return fail(ErrorKind::usage, "--log-level: unknown level '" + std::string(level) + "'");
  auto logger = std::make_shared<spdlog::logger>("sbpipe", std::make_shared<RedactingStderrSink>(format));
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  g_format = format;
  return {};
}

void log_event(LogLevel level, std::string_view message, std::initializer_list<LogField> fields, LogText text) {
  log_event(level, message, std::vector<LogField>(fields), text);
}

void log_event(LogLevel level, std::string_view message, const std::vector<LogField>& fields, LogText text) {
  auto* logger = spdlog::default_logger_raw();
  auto lvl = spdlog_level(level);
  if (!logger->should_log(lvl)) return;
  if (g_format != LogFormat::json) {
    logger->log(lvl, "{}", text == LogText::fields ? fields_text(fields) : std::string(message));
    return;
  }
  nlohmann::ordered_json record{{"msg", redact(message)}};
  for (const auto& f : fields) {
    // A field never hides the record's own keys.
    std::string key = f.key == "time" || f.key == "level" || f.key == "msg" ? f.key + "_" : f.key;
    record[key] = f.value.is_string() ? nlohmann::json(redact(f.value.get<std::string>())) : f.value;
  }
  logger->log(spdlog::source_loc{k_event_marker, 0, ""}, lvl, "{}",
              record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

AsyncLogging::AsyncLogging() : m_previous(spdlog::default_logger()) {
  m_pool = std::make_shared<spdlog::details::thread_pool>(8192, 1);
  auto logger = std::make_shared<spdlog::async_logger>("sbpipe", m_previous->sinks().begin(), m_previous->sinks().end(), m_pool,
                                                       spdlog::async_overflow_policy::block);
  logger->set_level(m_previous->level());
  // No flush messages: the sink writes whenever the queue runs empty, and the
  // destructor writes the rest.
  logger->flush_on(spdlog::level::off);
  for (auto& sink : logger->sinks())
    if (auto* ours = dynamic_cast<RedactingStderrSink*>(sink.get())) ours->set_batching(m_pool.get());
  spdlog::set_default_logger(logger);
}

AsyncLogging::~AsyncLogging() {
  spdlog::set_default_logger(m_previous);
  // The pool's destructor writes the queued records, then joins its thread.
  m_pool.reset();
  for (auto& sink : m_previous->sinks())
    if (auto* ours = dynamic_cast<RedactingStderrSink*>(sink.get())) ours->set_batching(nullptr);
}

}  // namespace sbpipe

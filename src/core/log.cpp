#include "core/log.h"

#include <nlohmann/json.hpp>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <mutex>

#include "core/redact.h"

namespace sbpipe {

std::string escape_controls(std::string_view text) {
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c == '\t' || (c >= 0x20 && c != 0x7f)) {
      out.push_back(static_cast<char>(c));
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out += "\\x";
      out.push_back(k_hex[c >> 4]);
      out.push_back(k_hex[c & 0xf]);
    }
  }
  return out;
}

namespace {

// Writes each record to stderr after redaction, as text or JSON.
class RedactingStderrSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
  explicit RedactingStderrSink(LogFormat format) : m_format(format) {}

protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::string text = redact(std::string_view(msg.payload.data(), msg.payload.size()));
    std::string line;
    auto level = spdlog::level::to_string_view(msg.level);
    if (m_format == LogFormat::json) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch());
      nlohmann::json j = {{"ts_ms", ms.count()},
                          {"level", std::string(level.data(), level.size())},
                          {"msg", text}};
      line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    } else {
      line = "sbpipe: ";
      if (msg.level != spdlog::level::info) line += std::string(level.data(), level.size()) + ": ";
      line += escape_controls(text) + "\n";
    }
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }

private:
  LogFormat m_format;
};

} // namespace

Result<LogFormat> parse_log_format(std::string_view name) {
  if (name == "text") return LogFormat::text;
  if (name == "json") return LogFormat::json;
  return fail(ErrorKind::usage, "--log-format: expected text or json, got '" + std::string(name) + "'");
}

Status setup_logging(LogFormat format, std::string_view level) {
  auto lvl = spdlog::level::from_str(std::string(level));
  if (lvl == spdlog::level::off && level != "off")
    return fail(ErrorKind::usage, "--log-level: unknown level '" + std::string(level) + "'");
  auto logger = std::make_shared<spdlog::logger>("sbpipe", std::make_shared<RedactingStderrSink>(format));
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  return {};
}

} // namespace sbpipe

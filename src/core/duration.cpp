#include "core/duration.h"

#include <cmath>
#include <cstdio>

namespace sbpipe {

Result<std::chrono::milliseconds> parse_duration(std::string_view text, std::string_view what) {
  auto refuse = [&] {
    return fail(ErrorKind::usage, std::string(what) + " '" + std::string(text) +
                                      "': expected a duration such as 30s, 5m or 1h30m (units ms, s, m, h)");
  };
  if (text.empty()) return refuse();
  double total_ms = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    bool digits = false, point = false;
    for (; i < text.size(); ++i) {
      char c = text[i];
      if (c >= '0' && c <= '9') {
        digits = true;
      } else if (c == '.' && !point) {
        point = true;
      } else {
        break;
      }
    }
    if (!digits) return refuse();
    double number = std::strtod(std::string(text.substr(start, i - start)).c_str(), nullptr);
    size_t unit_start = i;
    while (i < text.size() && ((text[i] >= 'a' && text[i] <= 'z') || (text[i] >= 'A' && text[i] <= 'Z'))) ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    double scale = unit == "ms" ? 1 : unit == "s" ? 1000 : unit == "m" ? 60000 : unit == "h" ? 3600000 : 0;
    if (scale == 0) return refuse();
    total_ms += number * scale;
  }
  if (!std::isfinite(total_ms) || total_ms > 1e15) return refuse();
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(total_ms)));
}

std::string format_duration(std::chrono::milliseconds duration) {
  int64_t ms = duration.count();
  if (ms < 0) return "-" + format_duration(std::chrono::milliseconds(-ms));
  auto two = [](int64_t big, const char* big_unit, int64_t small, const char* small_unit) {
    return std::to_string(big) + big_unit + (small == 0 ? "" : std::to_string(small) + small_unit);
  };
  if (ms < 1000) return std::to_string(ms) + "ms";
  if (ms < 60'000) {
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms) / 1000.0);
    return buf;
  }
  if (ms < 3'600'000) return two(ms / 60'000, "m", ms / 1000 % 60, "s");
  if (ms < 86'400'000) return two(ms / 3'600'000, "h", ms / 60'000 % 60, "m");
  return two(ms / 86'400'000, "d", ms / 3'600'000 % 24, "h");
}

}  // namespace sbpipe

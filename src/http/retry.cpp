#include "http/retry.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <string>

namespace sbpipe {

bool is_retryable_status(long status) { return status == 408 || status == 429 || (status >= 500 && status <= 599); }

std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int attempt, std::mt19937& rng) {
  long long delay = policy.base_delay.count();
  for (int i = 1; i < attempt && delay < policy.max_delay.count(); ++i) delay *= 2;
  delay = std::min<long long>(delay, policy.max_delay.count());
  std::uniform_int_distribution<long long> jitter(delay / 2, delay);
  return std::chrono::milliseconds(jitter(rng));
}

std::string retry_note(int attempt, int max_attempts, std::chrono::milliseconds wait) {
  std::string delay;
  if (wait.count() < 1000) {
    delay = std::to_string(wait.count()) + " ms";
  } else {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(wait.count()) / 1000.0);
    delay = buf;
  }
  return "attempt " + std::to_string(attempt) + " of " + std::to_string(max_attempts) + " failed; retrying in " + delay;
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  long long seconds = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec == std::errc() && end == value.data() + value.size()) {
    if (seconds < 0) return std::nullopt;
    return std::chrono::milliseconds(seconds * 1000);
  }
  // IMF-fixdate, e.g. "Wed, 21 Oct 2015 07:28:00 GMT".
  std::tm tm{};
  std::string text(value);
  if (strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm) == nullptr) return std::nullopt;
  auto when = std::chrono::system_clock::from_time_t(timegm(&tm));
  auto diff = std::chrono::duration_cast<std::chrono::milliseconds>(when - now);
  return std::max(diff, std::chrono::milliseconds(0));
}

}  // namespace sbpipe

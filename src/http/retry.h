#pragma once
// Retry policy shared by every remote client: which failures are retried,
// and how long to wait between tries.

#include <chrono>
#include <optional>
#include <random>
#include <string>
#include <string_view>

namespace sbpipe {

struct RetryPolicy {
  int max_attempts = 5;                         // tries in all, the first included
  std::chrono::milliseconds base_delay{500};    // before the second try
  std::chrono::milliseconds max_delay{30'000};  // cap for one wait
};

// 408, 429 and every 5xx.
bool is_retryable_status(long status);

// Exponential back-off with "full jitter": a random wait in
// [delay/2, delay], delay = base * 2^(attempt-1), capped at max_delay.
// attempt counts from 1 (the wait after the first failure).
std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int attempt, std::mt19937& rng);

// What a retry log line says after the failure: "attempt 2 of 5 failed;
// retrying in 1.5 s" (milliseconds below one second), so a person sees how
// many tries are left and how long the wait is.
std::string retry_note(int attempt, int max_attempts, std::chrono::milliseconds wait);

// Parses a Retry-After value: delta-seconds or an HTTP-date. nullopt when
// unparseable. Dates in the past give 0.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now);

}  // namespace sbpipe

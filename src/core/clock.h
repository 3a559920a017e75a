#pragma once
// Time as a seam: retry back-off and token expiry read the clock through this
// interface so tests can run them without sleeping.

#include <chrono>

namespace sbpipe {

class Clock {
public:
  virtual ~Clock() = default;
  virtual std::chrono::steady_clock::time_point now() = 0;
  virtual std::chrono::system_clock::time_point wall_now() = 0;
  virtual void sleep_for(std::chrono::milliseconds duration) = 0;
};

// The process's real clock. Thread-safe.
Clock& real_clock();

}  // namespace sbpipe

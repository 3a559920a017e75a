#pragma once
// The receiver's Prometheus metrics (text exposition format 0.0.4):
// deliveries by event, action and outcome; submissions by outcome; and a
// histogram of request latency. Label values come only from deliveries
// whose signature was verified, so strangers cannot grow the label sets.
// Thread-safe.

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace sbpipe {

class WebhookMetrics {
public:
  void count_delivery(const std::string& event, const std::string& action, const std::string& outcome);
  void count_submission(const std::string& outcome);
  void observe_latency(double seconds);
  std::string render() const;

private:
  static constexpr std::array<double, 12> kBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5};
  mutable std::mutex m_mutex;
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> m_deliveries;
  std::map<std::string, uint64_t> m_submissions;
  std::array<uint64_t, kBuckets.size()> m_bucket_counts{};
  uint64_t m_count = 0;
  double m_sum = 0;
};

}  // namespace sbpipe

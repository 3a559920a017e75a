#pragma once
// The receiver's Prometheus metrics (text exposition format 0.0.4):
// sbpipe_build_info{version,commit,compiler} 1 (the Prometheus convention
// for a build's facts as labels); deliveries by event, action and outcome;
// submissions by outcome; a histogram of request latency; the process_*
// families (webhook/process_metrics.h); and what each added collector renders (the local executor's queue and runs). Label values come only from deliveries
// whose signature was verified, so strangers cannot grow the label sets.
// Thread-safe.

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

namespace sbpipe {

class WebhookMetrics {
public:
  void count_delivery(const std::string& event, const std::string& action, const std::string& outcome);
  void count_submission(const std::string& outcome);
  void observe_latency(double seconds);
  // Adds text (whole metric families, HELP/TYPE included) that render()
  // appends; called for each scrape, from the scraping thread.
  void add_collector(std::function<std::string()> collector);
  std::string render() const;

private:
  static constexpr std::array<double, 12> kBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5};
  mutable std::mutex m_mutex;
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> m_deliveries;
  std::map<std::string, uint64_t> m_submissions;
  std::vector<std::function<std::string()>> m_collectors;
  std::array<uint64_t, kBuckets.size()> m_bucket_counts{};
  uint64_t m_count = 0;
  double m_sum = 0;
};

}  // namespace sbpipe

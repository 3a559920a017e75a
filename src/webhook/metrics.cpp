#include "webhook/metrics.h"

#include <cstdio>

#include "core/build_info.h"
#include "webhook/process_metrics.h"

namespace sbpipe {
namespace {

std::string escape_label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string number(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", value);
  return buf;
}

}  // namespace

void WebhookMetrics::count_delivery(const std::string& event, const std::string& action, const std::string& outcome) {
  std::lock_guard lock(m_mutex);
  ++m_deliveries[{event.substr(0, 64), action.substr(0, 64), outcome}];
}

void WebhookMetrics::count_submission(const std::string& outcome) {
  std::lock_guard lock(m_mutex);
  ++m_submissions[outcome];
}

void WebhookMetrics::observe_latency(double seconds) {
  std::lock_guard lock(m_mutex);
  for (size_t i = 0; i < kBuckets.size(); ++i)
    if (seconds <= kBuckets[i]) ++m_bucket_counts[i];
  ++m_count;
  m_sum += seconds;
}

void WebhookMetrics::add_collector(std::function<std::string()> collector) {
  std::lock_guard lock(m_mutex);
  m_collectors.push_back(std::move(collector));
}

std::string WebhookMetrics::render() const {
  std::lock_guard lock(m_mutex);
  const BuildInfo& build = build_info();
  std::string out =
      "# HELP sbpipe_build_info The sbpipe build serving: version, commit and compiler as labels; always 1.\n"
      "# TYPE sbpipe_build_info gauge\n"
      "sbpipe_build_info{version=\"" +
      escape_label(build.version) + "\",commit=\"" + escape_label(build.commit) + "\",compiler=\"" +
      escape_label(build.compiler) + "\"} 1\n";
  out += "# HELP sbpipe_webhook_deliveries_total Webhook deliveries by event, action and outcome.\n";
  out += "# TYPE sbpipe_webhook_deliveries_total counter\n";
  for (const auto& [key, n] : m_deliveries) {
    const auto& [event, action, outcome] = key;
    out += "sbpipe_webhook_deliveries_total{event=\"" + escape_label(event) + "\",action=\"" + escape_label(action) +
           "\",outcome=\"" + escape_label(outcome) + "\"} " + std::to_string(n) + "\n";
  }
  out += "# HELP sbpipe_workflow_submissions_total Workflow creations by outcome.\n";
  out += "# TYPE sbpipe_workflow_submissions_total counter\n";
  for (const auto& [outcome, n] : m_submissions)
    out += "sbpipe_workflow_submissions_total{outcome=\"" + escape_label(outcome) + "\"} " + std::to_string(n) + "\n";
  out += "# HELP sbpipe_webhook_request_duration_seconds Time to answer a webhook delivery.\n";
  out += "# TYPE sbpipe_webhook_request_duration_seconds histogram\n";
  for (size_t i = 0; i < kBuckets.size(); ++i)
    out += "sbpipe_webhook_request_duration_seconds_bucket{le=\"" + number(kBuckets[i]) + "\"} " +
           std::to_string(m_bucket_counts[i]) + "\n";
  out += "sbpipe_webhook_request_duration_seconds_bucket{le=\"+Inf\"} " + std::to_string(m_count) + "\n";
  out += "sbpipe_webhook_request_duration_seconds_sum " + number(m_sum) + "\n";
  out += "sbpipe_webhook_request_duration_seconds_count " + std::to_string(m_count) + "\n";
  out += process_metrics_text();
  for (const auto& collector : m_collectors) out += collector();
  return out;
}

}  // namespace sbpipe

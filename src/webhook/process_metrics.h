#pragma once
// The process_* metrics every Prometheus client library exports (the names,
// types and units of client_golang's process collector,
// prometheus/process_collector_procfs.go): CPU seconds, open and maximum
// file descriptors, virtual and resident memory, start time. Read from
// /proc/self at each scrape; a family that cannot be read is left out.

#include <string>

namespace sbpipe {

// Prometheus text (HELP, TYPE, one sample each) for this process.
std::string process_metrics_text();

}  // namespace sbpipe

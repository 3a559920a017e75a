#include "webhook/process_metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace sbpipe {
namespace {

std::string family(const char* name, const char* type, const char* help, double value) {
  char number[64];
  std::snprintf(number, sizeof number, "%.17g", value);
  return std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " + number + "\n";
}

// The fields of /proc/self/stat after the command name (proc(5): field 3
// is fields[0]); empty when unreadable.
std::vector<std::string> stat_fields() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return {};
  auto close = line.rfind(')');  // the command name may hold spaces and ')'
  if (close == std::string::npos) return {};
  std::istringstream rest(line.substr(close + 1));
  std::vector<std::string> fields;
  for (std::string f; rest >> f;) fields.push_back(f);
  return fields;
}

// The boot time (btime in /proc/stat), in seconds since the epoch; 0 when unknown.
double boot_time() {
  std::ifstream in("/proc/stat");
  for (std::string key; in >> key;) {
    if (key == "btime") {
      double value = 0;
      in >> value;
      return value;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

}  // namespace

std::string process_metrics_text() {
  std::string out;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  auto fields = stat_fields();
  // proc(5): utime (14), stime (15), starttime (22), vsize (23), rss (24).
  if (fields.size() > 21 && ticks > 0) {
    out += family("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
                  (std::stod(fields[11]) + std::stod(fields[12])) / ticks);
    out += family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", std::stod(fields[20]));
    out += family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", std::stod(fields[21]) * page);
    if (double boot = boot_time(); boot > 0)
      out += family("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.",
                    boot + std::stod(fields[19]) / ticks);
  }
  std::error_code ec;
  double open = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec))
    ++open;
  if (!ec) out += family("process_open_fds", "gauge", "Number of open file descriptors.", open);
  if (rlimit limit{}; getrlimit(RLIMIT_NOFILE, &limit) == 0)
    out += family("process_max_fds", "gauge", "Maximum number of open file descriptors.", static_cast<double>(limit.rlim_cur));
  return out;
}

}  // namespace sbpipe

#include "webhook/readiness.h"

#include <systemd/sd-daemon.h>

#include <spdlog/spdlog.h>

#include <cstring>

namespace sbpipe {
namespace {

bool notify(const std::string& state, const std::string& status) {
  // Status lines end at a newline: keep only the first line of `status`.
  std::string message = state + "\nSTATUS=" + status.substr(0, status.find('\n'));
  int rc = sd_notify(0, message.c_str());
  if (rc < 0) {
    spdlog::warn("systemd notification {} not sent: {}", state, std::strerror(-rc));
    return false;
  }
  if (rc > 0) spdlog::debug("systemd notified: {}", state);
  return true;
}

}  // namespace

bool notify_ready(const std::string& status) { return notify("READY=1", status); }

bool notify_stopping(const std::string& status) { return notify("STOPPING=1", status); }

}  // namespace sbpipe

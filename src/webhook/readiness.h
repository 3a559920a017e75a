#pragma once
// Telling the service manager how the receiver is doing, by systemd's
// readiness protocol (sd_notify(3), through libsystemd): READY=1 once the
// listening socket accepts connections (a unit of Type=notify is "started"
// only then, so units ordered After= it, and `systemctl start`, wait for
// it), STOPPING=1 when shutdown begins. Each message also carries a
// STATUS= line that `systemctl status` shows. Without NOTIFY_SOCKET in the
// environment (not started by systemd) these do nothing. Thread-safe.

#include <string>

namespace sbpipe {

// READY=1 with `status`. Returns false when a notify socket was named but
// the message could not be sent (logged as a warning); true otherwise.
bool notify_ready(const std::string& status);

// STOPPING=1 with `status`; as notify_ready.
bool notify_stopping(const std::string& status);

}  // namespace sbpipe

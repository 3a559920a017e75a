#pragma once
// A TCP proxy on 127.0.0.1 in front of a real server, for transport faults.
// It forces "Connection: close" on every request and response, so each
// connection carries one request that the rules can see. A rule matches a
// request by method and a substring of its path, `times` times, and either
// answers with a canned status (draining the request body first) or drops
// the connection after forwarding part of the body, or forwards it after a
// hook ran. Every request is logged.

#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace sbpipe::test {

struct FaultRule {
  std::string method;         // "PUT", "" for any
  std::string path_contains;  // "" for any
  enum class Action { respond, drop_mid_body, forward } action = Action::respond;
  int status = 503;
  std::string extra_headers;  // e.g. "Retry-After: 1\r\n"
  size_t drop_after_bytes = 65536;
  int times = 1;  // -1: forever
  // Runs when the rule matches, before the action (tests kill a client there).
  std::function<void()> on_match;
};

class FaultProxy {
public:
  explicit FaultProxy(int upstream_port);
  ~FaultProxy();
  int port() const { return m_port; }
  void add_rule(FaultRule rule);
  void clear_rules();
  // "METHOD /path -> forwarded|faulted" lines, in arrival order.
  std::vector<std::string> log();
  int count(const std::string& method, const std::string& path_contains);

private:
  void accept_loop();
  void handle(int client);

  int m_upstream_port;
  int m_port = 0;
  int m_listen_fd = -1;
  std::atomic<bool> m_stop{false};
  std::thread m_thread;
  std::mutex m_mutex;
  std::vector<FaultRule> m_rules;
  std::vector<std::string> m_log;
  std::vector<std::thread> m_workers;
};

}  // namespace sbpipe::test

#include "support/fault_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace sbpipe::test {
namespace {

bool send_all(int fd, const char* data, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
    if (w <= 0) return false;
    data += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

int connect_local(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Replaces any Connection header of an HTTP head with "Connection: close".
std::string force_close(const std::string& head) {
  std::string out;
  size_t pos = 0;
  while (pos < head.size()) {
    size_t eol = head.find("\r\n", pos);
    if (eol == std::string::npos) eol = head.size();
    std::string line = head.substr(pos, eol - pos);
    if (line.empty()) break;
    if (lower(line).rfind("connection:", 0) != 0) out += line + "\r\n";
    pos = eol + 2;
  }
  return out + "Connection: close\r\n\r\n";
}

// Reads until the end of an HTTP head; returns head and any bytes after it.
bool read_head(int fd, std::string& head, std::string& rest) {
  std::string buf;
  char tmp[16384];
  while (buf.find("\r\n\r\n") == std::string::npos) {
    ssize_t n = recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf.append(tmp, static_cast<size_t>(n));
  }
  size_t end = buf.find("\r\n\r\n") + 4;
  head = buf.substr(0, end);
  rest = buf.substr(end);
  return true;
}

size_t content_length(const std::string& head) {
  std::string l = lower(head);
  size_t p = l.find("\r\ncontent-length:");
  if (p == std::string::npos) return 0;
  return std::stoull(l.substr(p + 17));
}

}  // namespace

FaultProxy::FaultProxy(int upstream_port) : m_upstream_port(upstream_port) {
  m_listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(m_listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(m_listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw std::runtime_error("proxy bind");
  socklen_t len = sizeof addr;
  getsockname(m_listen_fd, reinterpret_cast<sockaddr*>(&addr), &len);
  m_port = ntohs(addr.sin_port);
  listen(m_listen_fd, 64);
  m_thread = std::thread([this] { accept_loop(); });
}

FaultProxy::~FaultProxy() {
  m_stop = true;
  shutdown(m_listen_fd, SHUT_RDWR);
  close(m_listen_fd);
  m_thread.join();
  for (auto& w : m_workers) w.join();
}

void FaultProxy::add_rule(FaultRule rule) {
  std::lock_guard lock(m_mutex);
  m_rules.push_back(std::move(rule));
}

void FaultProxy::clear_rules() {
  std::lock_guard lock(m_mutex);
  m_rules.clear();
}

std::vector<std::string> FaultProxy::log() {
  std::lock_guard lock(m_mutex);
  return m_log;
}

int FaultProxy::count(const std::string& method, const std::string& path_contains) {
  int n = 0;
  for (const auto& line : log())
    if (line.rfind(method + " ", 0) == 0 && line.find(path_contains) != std::string::npos) ++n;
  return n;
}

void FaultProxy::accept_loop() {
  while (!m_stop) {
    int client = accept(m_listen_fd, nullptr, nullptr);
    if (client < 0) break;
    std::lock_guard lock(m_mutex);
    m_workers.emplace_back([this, client] { handle(client); });
  }
}

void FaultProxy::handle(int client) {
  std::string head, rest;
  if (!read_head(client, head, rest)) {
    close(client);
    return;
  }
  std::string request_line = head.substr(0, head.find("\r\n"));
  std::string method = request_line.substr(0, request_line.find(' '));
  std::string path = request_line.substr(method.size() + 1);
  path = path.substr(0, path.find(' '));

  std::optional<FaultRule> fault;
  {
    std::lock_guard lock(m_mutex);
    for (auto& rule : m_rules) {
      if (rule.times == 0) continue;
      if (!rule.method.empty() && rule.method != method) continue;
      if (path.find(rule.path_contains) == std::string::npos) continue;
      if (rule.times > 0) --rule.times;
      fault = rule;
      break;
    }
    m_log.push_back(method + " " + path +
                    (fault && fault->action != FaultRule::Action::forward ? " -> faulted" : " -> forwarded"));
  }
  if (fault && fault->on_match) fault->on_match();

  if (fault && fault->action == FaultRule::Action::respond) {
    // Drain a Content-Length body so the client reads our answer, not a reset.
    size_t want = content_length(head);
    bool chunked = lower(head).find("transfer-encoding: chunked") != std::string::npos;
    char tmp[65536];
    while ((chunked && rest.find("\r\n0\r\n\r\n") == std::string::npos && rest.rfind("0\r\n\r\n", 0) != 0) ||
           (!chunked && rest.size() < want)) {
      ssize_t n = recv(client, tmp, sizeof tmp, 0);
      if (n <= 0) break;
      if (chunked) {
        rest.append(tmp, static_cast<size_t>(n));
        if (rest.size() > 16) rest.erase(0, rest.size() - 16);
      } else {
        rest.resize(rest.size() + static_cast<size_t>(n));
      }
    }
    std::string body = "{\"errors\":[{\"code\":\"UNAVAILABLE\",\"message\":\"injected fault\"}]}";
    std::string response = "HTTP/1.1 " + std::to_string(fault->status) + " Injected\r\nContent-Type: application/json\r\n" +
                           fault->extra_headers + "Content-Length: " + std::to_string(body.size()) +
                           "\r\nConnection: close\r\n\r\n" + body;
    send_all(client, response.data(), response.size());
    shutdown(client, SHUT_WR);
    close(client);
    return;
  }

  int upstream = connect_local(m_upstream_port);
  if (upstream < 0) {
    close(client);
    return;
  }
  std::string out_head = force_close(head);
  send_all(upstream, out_head.data(), out_head.size());
  size_t budget = fault && fault->action == FaultRule::Action::drop_mid_body ? fault->drop_after_bytes : SIZE_MAX;
  auto forward_body = [&](const char* data, size_t n) {
    size_t take = std::min(n, budget);
    send_all(upstream, data, take);
    budget -= take;
    return budget > 0;
  };
  bool alive = forward_body(rest.data(), rest.size());

  // Pump both ways; inject Connection: close into the first final response head.
  std::string response_buf;
  bool head_done = false;
  char tmp[65536];
  pollfd fds[2] = {{client, POLLIN, 0}, {upstream, POLLIN, 0}};
  while (alive) {
    if (poll(fds, 2, 30000) <= 0) break;
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = recv(client, tmp, sizeof tmp, 0);
      if (n <= 0) break;
      if (!forward_body(tmp, static_cast<size_t>(n))) alive = false;
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = recv(upstream, tmp, sizeof tmp, 0);
      if (n <= 0) break;
      if (head_done) {
        if (!send_all(client, tmp, static_cast<size_t>(n))) break;
        continue;
      }
      response_buf.append(tmp, static_cast<size_t>(n));
      while (!head_done && response_buf.find("\r\n\r\n") != std::string::npos) {
        size_t end = response_buf.find("\r\n\r\n") + 4;
        std::string h = response_buf.substr(0, end);
        bool interim = h.size() > 9 && h[9] == '1';
        std::string sent = interim ? h : force_close(h);
        send_all(client, sent.data(), sent.size());
        response_buf.erase(0, end);
        head_done = !interim;
      }
      if (head_done && !response_buf.empty()) {
        send_all(client, response_buf.data(), response_buf.size());
        response_buf.clear();
      }
    }
  }
  if (fault) {
    // Abrupt close: RST to both sides, as a network fault would look.
    linger lg{1, 0};
    setsockopt(client, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    setsockopt(upstream, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  close(upstream);
  shutdown(client, SHUT_WR);
  close(client);
}

}  // namespace sbpipe::test

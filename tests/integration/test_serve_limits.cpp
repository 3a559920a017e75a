// Issue 19: the public port of `sbpipe serve` under hostile clients (the
// adversarial review's F5, F8, F9 and its recipe R7), and the listener's
// backlog and keep-alive. Raw sockets on loopback only; every attack is
// bounded in time and in connections, and the receiver is stopped by PID.

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "integration/push_helpers.h"
#include "support/local_service.h"
#include "webhook/signature.h"

using namespace sbpipe::test;
using Steady = std::chrono::steady_clock;

namespace {

const std::string kSecret = "webhook-secret-0123456789";

// One client socket on 127.0.0.1:port; closed by its destructor.
class Conn {
public:
  explicit Conn(int port) {
    m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    m_ok = ::connect(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Conn() {
    if (m_fd >= 0) ::close(m_fd);
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  bool ok() const { return m_ok; }

  bool send_all(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(m_fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // Whatever arrives within timeout_ms (stops early once `until` was seen
  // or the peer closed).
  std::string receive(int timeout_ms, std::string_view until = "") {
    std::string out;
    auto deadline = Steady::now() + std::chrono::milliseconds(timeout_ms);
    while (Steady::now() < deadline) {
      pollfd p{m_fd, POLLIN, 0};
      int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Steady::now()).count());
      if (::poll(&p, 1, std::max(left, 1)) <= 0) break;
      char buf[65536];
      ssize_t n = ::recv(m_fd, buf, sizeof buf, 0);
      if (n <= 0) {
        m_closed = true;
        break;
      }
      out.append(buf, static_cast<size_t>(n));
      if (!until.empty() && out.find(until) != std::string::npos) break;
    }
    return out;
  }
  // True when the server closed the connection within timeout_ms.
  bool closed_within(int timeout_ms) {
    receive(timeout_ms);
    return m_closed;
  }

private:
  int m_fd = -1;
  bool m_ok = false;
  bool m_closed = false;
};

// How long a /healthz probe may take while the port is under attack: 1 s, the bound of issue 19
// (a starved listener took 1 s and more: a dropped SYN is retried after 1 s). Under
// AddressSanitizer the receiver runs several times slower and CI runs it beside other tests, so
// there the bound only tells served from starved.
int probe_budget_ms() { return sanitized_binary() ? 5000 : 1000; }

struct Server {
  TempDir dir;
  int port = free_port();
  std::unique_ptr<Process> process;

  explicit Server(std::vector<std::string> extra = {}) {
    write_file(dir / "secret", kSecret + "\n");
    std::vector<std::string> argv{sbpipe_binary(),
                                  "serve",
                                  "--listen",
                                  "127.0.0.1:" + std::to_string(port),
                                  "--webhook-secret-file",
                                  (dir / "secret").string(),
                                  "--allow-repo",
                                  "owner/talos-build",
                                  "--executor",
                                  "local",
                                  "--config",
                                  write_service_config(dir.path()).string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    process = std::make_unique<Process>(argv, dir / "serve.log");
    wait_for_port(port);
  }
  std::string log() { return read_file(dir / "serve.log"); }
  // The log once it holds `needle` (serve writes info lines within 100 ms),
  // or as it is after 3 s.
  std::string log_with(const std::string& needle) {
    auto deadline = Steady::now() + std::chrono::seconds(3);
    std::string text = log();
    while (text.find(needle) == std::string::npos && Steady::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      text = log();
    }
    return text;
  }
  // VmHWM of the receiver, in KiB.
  long peak_rss_kib() {
    std::ifstream in("/proc/" + std::to_string(process->pid()) + "/status");
    std::string line;
    while (std::getline(in, line))
      if (line.starts_with("VmHWM:")) return std::stol(line.substr(6));
    return -1;
  }
  // GET /healthz on a new connection; the time it took, or nullopt when no
  // 200 came within timeout_ms.
  std::optional<std::chrono::milliseconds> probe(int timeout_ms = probe_budget_ms()) {
    auto start = Steady::now();
    Conn c(port);
    if (!c.ok() || !c.send_all("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")) return std::nullopt;
    auto answer = c.receive(timeout_ms, "ok\n");
    if (!answer.starts_with("HTTP/1.1 200") || answer.find("ok\n") == std::string::npos) return std::nullopt;
    return std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - start);
  }
};

std::string status_line(const std::string& response) { return response.substr(0, response.find("\r\n")); }

std::string ignored_delivery() {
  return R"({"action":"released","release":{"id":1,"tag_name":"v1.9.0","prerelease":false,"draft":false},)"
         R"("repository":{"full_name":"owner/talos-build"}})";
}

std::string signed_post(const std::string& body, const std::string& extra_headers = "") {
  return "POST /webhook HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: release\r\nX-GitHub-Delivery: d-1\r\nX-Hub-Signature-256: " +
         sbpipe::webhook_signature(kSecret, body) +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra_headers +
         "\r\n" + body;
}

}  // namespace

TEST_SUITE("integration") {

TEST_CASE("F5: a chunked body is refused with 413 while it is read, before the signature check or any buffering") {
  Server server;
  Conn c(server.port);
  REQUIRE(c.send_all("POST /webhook HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: release\r\nTransfer-Encoding: chunked\r\n\r\n"));
  // Offer 1 GiB in 1 MiB chunks; the answer must come after about 25 MiB.
  std::string chunk = "100000\r\n" + std::string(1 << 20, 'a') + "\r\n";
  size_t sent_mib = 0;
  std::string answer;
  for (; sent_mib < 1024 && answer.empty(); ++sent_mib) {
    if (!c.send_all(chunk)) break;  // the receiver stopped reading and closed
    answer = c.receive(1);
  }
  if (answer.empty()) answer = c.receive(3000, "\r\n\r\n");
  CHECK(status_line(answer) == "HTTP/1.1 413 Payload Too Large");
  CHECK(answer.find("body larger than 26214400 bytes") != std::string::npos);
  CHECK(sent_mib < 64);
  // AddressSanitizer keeps freed memory in quarantine (256 MiB by default), so the receiver's
  // footprint is bounded only in normal builds; the bound on what it read above holds in both.
  if (!sanitized_binary()) CHECK(server.peak_rss_kib() < 120 * 1024);
  CHECK(server.log_with("outcome=too_large status=413").find("outcome=too_large status=413") != std::string::npos);
}

TEST_CASE("F5: Content-Encoding is refused with 415 before the body is read; Content-Length beyond the limit gets 413 at once") {
  Server server;
  {
    Conn c(server.port);
    REQUIRE(c.send_all("POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: 1048576\r\n\r\n"));
    auto answer = c.receive(3000, "}\n");
    CHECK(status_line(answer) == "HTTP/1.1 415 Unsupported Media Type");
    CHECK(answer.find("Content-Encoding gzip is not accepted (GitHub sends deliveries uncompressed)") != std::string::npos);
  }
  {
    Conn c(server.port);
    REQUIRE(c.send_all("POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 26214401\r\n\r\n"));
    CHECK(status_line(c.receive(3000, "}\n")) == "HTTP/1.1 413 Payload Too Large");
  }
  {
    Conn c(server.port);
    REQUIRE(c.send_all("POST /webhook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"));
    CHECK(status_line(c.receive(3000, "}\n")) == "HTTP/1.1 501 Not Implemented");
  }
  CHECK(server.probe().has_value());
}

TEST_CASE("F9: an unsigned delivery's headers never reach the log; control characters never reach it raw") {
  Server server;
  std::string body = ignored_delivery();
  auto post = [&](const std::string& delivery, const std::string& signature) {
    Conn c(server.port);
    c.send_all("POST /webhook HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: release\r\nX-GitHub-Delivery: " + delivery +
               "\r\nX-Hub-Signature-256: " + signature + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
               body);
    return status_line(c.receive(3000, "}\n"));
  };
  std::string good = sbpipe::webhook_signature(kSecret, body);
  // The recipe's header: CR and ESC inside a value are malformed HTTP, refused
  // by the parser whether signed or not.
  CHECK(post("x\r\x1b[31mFORGED outcome=created status=201\x1b[0m", good) == "HTTP/1.1 400 Bad Request");
  CHECK(post("y\x1b[31mFORGED", good) == "HTTP/1.1 400 Bad Request");
  // Unsigned: 401, and neither its delivery id nor its event is logged.
  CHECK(post("evil-delivery-id", "sha256=" + std::string(64, '0')) == "HTTP/1.1 401 Unauthorized");
  CHECK(post("good-delivery-id", good) == "HTTP/1.1 202 Accepted");
  auto log = server.log_with("delivery=good-delivery-id");
  CHECK(log.find('\x1b') == std::string::npos);
  CHECK(log.find("FORGED") == std::string::npos);
  CHECK(log.find("evil-delivery-id") == std::string::npos);
  CHECK(log.find("delivery=- event=- action=- repo=- tag=- outcome=unauthorized status=401") != std::string::npos);
  CHECK(log.find("delivery=good-delivery-id event=release action=released repo=owner/talos-build tag=v1.9.0 outcome=ignored "
                 "status=202") != std::string::npos);
}

TEST_CASE("F8: 40 trickling and 1000 idle connections do not delay /healthz past 1 s; slow requests are cut off") {
  Server server({"--request-timeout-ms", "2000"});
  std::vector<std::unique_ptr<Conn>> idle;
  for (int i = 0; i < 1000; ++i) idle.push_back(std::make_unique<Conn>(server.port));
  std::vector<std::unique_ptr<Conn>> slow;
  for (int i = 0; i < 40; ++i) {
    slow.push_back(std::make_unique<Conn>(server.port));
    slow.back()->send_all("POST /webhook HTTP/1.1\r\nHost: x\r\n");
  }
  int probes = 0;
  auto attack_end = Steady::now() + std::chrono::milliseconds(1500);
  while (Steady::now() < attack_end) {
    for (auto& s : slow) s->send_all("X-Trickle: 1\r\n");  // one header line per round
    auto took = server.probe();
    REQUIRE_MESSAGE(took.has_value(), "/healthz did not answer within 1 s under attack");
    CHECK(*took < std::chrono::milliseconds(probe_budget_ms()));
    ++probes;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  CHECK(probes >= (probe_budget_ms() == 1000 ? 4 : 1));
  // The request deadline is a total over header and body: the tricklers are
  // cut off although they never paused for long.
  for (auto& s : slow) CHECK(s->closed_within(3000));
  CHECK(server.probe().has_value());
}

TEST_CASE("F8: at the connection cap the oldest idle connection makes room, so probes still get in") {
  Server server({"--max-connections", "64"});
  std::vector<std::unique_ptr<Conn>> idle;
  for (int i = 0; i < 200; ++i) idle.push_back(std::make_unique<Conn>(server.port));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  for (int i = 0; i < 5; ++i) {
    auto took = server.probe();
    REQUIRE_MESSAGE(took.has_value(), "/healthz did not answer within 1 s at the connection cap");
    CHECK(*took < std::chrono::milliseconds(probe_budget_ms()));
  }
  CHECK(idle.front()->closed_within(probe_budget_ms()));  // the oldest was evicted
  Conn metrics(server.port);
  metrics.send_all("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  auto text = metrics.receive(2000);
  CHECK(text.find("sbpipe_webhook_connections_closed_total{reason=\"evicted\"} ") != std::string::npos);
  CHECK(text.find("sbpipe_webhook_connections_closed_total{reason=\"evicted\"} 0\n") == std::string::npos);
}

TEST_CASE("issue 30: connection churn at the cap never wedges the listener: /healthz answers and SIGTERM stops it") {
  // Before, picking a connection to evict could drop the last reference to
  // another one while holding the list's lock, whose destructor took that
  // lock again: every I/O thread stopped, and nothing answered, not even
  // SIGTERM. The churn: connections opened and dropped at once, half of
  // them after sending /readyz or a head cut short, by 8 threads against a
  // cap of 8 and 4 I/O threads, in bursts of 1.5 s with probes between.
  Server server({"--max-connections", "8", "--io-threads", "4"});
  std::atomic<bool> churning{true};
  std::atomic<long> opened{0};
  std::vector<std::thread> churners;
  for (int t = 0; t < 8; ++t)
    churners.emplace_back([&, t] {
      for (int i = t; churning.load(); ++i) {
        Conn c(server.port);
        if (!c.ok()) continue;
        ++opened;
        if (i % 3 == 0) c.send_all("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
        if (i % 3 == 1) c.send_all("GET /readyz HTTP/1.1\r\nHo");
      }
    });
  std::string wedged;
  for (int round = 0; round < 10 && wedged.empty(); ++round) {
    auto burst_end = Steady::now() + std::chrono::milliseconds(1500);
    while (Steady::now() < burst_end) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    // A probe may itself be evicted by the churn: it gets tries for 10 s.
    auto deadline = Steady::now() + std::chrono::seconds(10);
    bool answered = false;
    while (!answered && Steady::now() < deadline) answered = server.probe(2000).has_value();
    if (!answered) wedged = "no /healthz answer within 10 s after " + std::to_string(round + 1) + " bursts";
  }
  churning = false;
  for (auto& t : churners) t.join();
  CHECK_MESSAGE(wedged.empty(), wedged << " (" << opened.load() << " connections)");
  CHECK(opened.load() > 1000);
  CHECK(server.probe(5000).has_value());
  ::kill(server.process->pid(), SIGTERM);
  CHECK(server.process->wait_exit(10000) == 0);
}

TEST_CASE(
    "issue 30: at the cap a delivery whose body arrives at a reasonable rate is never evicted; one still sending its "
    "head is") {
  Server server({"--max-connections", "8"});
  // A signed 640 KiB delivery (ignored: a full release) sent in 16 KiB
  // pieces, 20 a second (320 KiB/s, over 2 s), while 40 new connections arrive.
  std::string body = ignored_delivery();
  body.insert(body.size() - 1, R"(,"padding":")" + std::string(640 << 10, 'p') + "\"");
  std::string request = signed_post(body);
  size_t head = request.size() - body.size();
  Conn delivery(server.port);
  REQUIRE(delivery.send_all(request.substr(0, head)));
  Conn cut_short(server.port);  // a head never finished: the first to go
  REQUIRE(cut_short.send_all("POST /webhook HTTP/1.1\r\nHost: x\r\n"));
  std::vector<std::unique_ptr<Conn>> newcomers;
  for (size_t at = head, i = 0; at < request.size(); at += 16 << 10, ++i) {
    REQUIRE(delivery.send_all(request.substr(at, 16 << 10)));
    if (i < 40) newcomers.push_back(std::make_unique<Conn>(server.port));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto answer = delivery.receive(5000, "}\n");
  CHECK_MESSAGE(status_line(answer) == "HTTP/1.1 202 Accepted", answer);
  CHECK(cut_short.closed_within(3000));
}

TEST_CASE("serve keeps a connection alive for many requests and listens with a real backlog") {
  Server server;
  Conn c(server.port);
  std::string body = ignored_delivery();
  for (int i = 0; i < 20; ++i) {
    REQUIRE(c.send_all(signed_post(body)));
    auto answer = c.receive(3000, "}\n");
    REQUIRE_MESSAGE(status_line(answer) == "HTTP/1.1 202 Accepted", "request " << i << ": " << answer);
    CHECK(answer.find("Connection: close") == std::string::npos);
  }
  // A 100-continue client gets the go-ahead, then the answer.
  REQUIRE(c.send_all(signed_post(body, "Expect: 100-continue\r\n")
                         .substr(0, signed_post(body, "Expect: 100-continue\r\n").size() - body.size())));
  CHECK(status_line(c.receive(3000, "\r\n\r\n")) == "HTTP/1.1 100 Continue");
  REQUIRE(c.send_all(body));
  CHECK(status_line(c.receive(3000, "}\n")) == "HTTP/1.1 202 Accepted");
  // ss shows a listening socket's backlog as its Send-Q.
  auto ss = run({"ss", "-Hltn", "sport = :" + std::to_string(server.port)});
  REQUIRE(ss.exit_code == 0);
  std::istringstream fields(ss.out);
  std::string state, recv_q, send_q;
  fields >> state >> recv_q >> send_q;
  CHECK_MESSAGE(std::stoi(send_q) >= 128, ss.out);
}

}  // TEST_SUITE("integration")

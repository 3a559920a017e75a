// `sbpipe serve --executor local` as a service: its /metrics scraped and
// read strictly as Prometheus text (sbpipe_build_info, the local queue and
// runs), and its readiness told to systemd (sd_notify(3): a datagram with
// READY=1 on the unix socket NOTIFY_SOCKET names, STOPPING=1 on SIGTERM;
// the socket here is the test's own, standing in for systemd's).

#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "integration/push_helpers.h"
#include "support/local_service.h"
#include "support/prometheus_text.h"
#include "webhook/signature.h"

namespace sbpipe::test {
namespace {

const std::string k_secret = "webhook-secret-0123456789";

// A unix datagram socket bound to `path`, as systemd's notify socket is.
class NotifySocket {
public:
  explicit NotifySocket(const std::filesystem::path& path) : m_path(path) {
    m_fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(m_fd >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    REQUIRE(path.string().size() < sizeof address.sun_path);
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    REQUIRE(::bind(m_fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  }
  ~NotifySocket() { ::close(m_fd); }
  // The next datagram, or "" after timeout_ms.
  std::string receive(int timeout_ms) {
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    ::setsockopt(m_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buffer[4096];
    ssize_t n = ::recv(m_fd, buffer, sizeof buffer, 0);
    return n > 0 ? std::string(buffer, static_cast<size_t>(n)) : std::string();
  }

private:
  std::filesystem::path m_path;
  int m_fd = -1;
};

// true when a TCP connection to 127.0.0.1:port is accepted right now.
bool accepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return ok;
}

TEST_SUITE("integration") {

TEST_CASE("serve: READY=1 reaches NOTIFY_SOCKET only once the port accepts connections; STOPPING=1 on SIGTERM") {
  TempDir dir;
  NotifySocket notify(dir / "notify.sock");
  write_file(dir / "secret", k_secret + "\n");
  int port = free_port();
  Process serve({sbpipe_binary(), "serve", "--listen", "127.0.0.1:" + std::to_string(port), "--webhook-secret-file",
                 (dir / "secret").string(), "--allow-repo", "owner/talos-build", "--executor", "local", "--config",
                 write_service_config(dir.path()).string()},
                dir / "serve.log", {{"NOTIFY_SOCKET", (dir / "notify.sock").string()}});
  std::string ready = notify.receive(20000);
  // At the moment READY=1 arrives, the port already takes connections.
  bool accepted = accepts(port);
  REQUIRE_MESSAGE(ready.find("READY=1") != std::string::npos, read_file(dir / "serve.log"));
  CHECK(accepted);
  CHECK(ready == "READY=1\nSTATUS=listening on 127.0.0.1:" + std::to_string(port));
  httplib::Client client("127.0.0.1", port);
  auto health = client.Get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);

  REQUIRE(::kill(serve.pid(), SIGTERM) == 0);
  std::string stopping = notify.receive(10000);
  CHECK(stopping == "STOPPING=1\nSTATUS=finishing requests in flight");
  CHECK(serve.wait_exit(10000) == 0);
  CHECK(notify.receive(200).empty());  // nothing after
}

TEST_CASE("serve --executor local: /metrics is Prometheus text with build info, queue depth, run outcomes") {
  TempDir dir;
  write_file(dir / "secret", k_secret + "\n");
  int port = free_port();
  // imager is `false`: the queued `sbpipe run` fails at once, which is the
  // outcome counted here.
  Process serve({sbpipe_binary(), "serve", "--listen", "127.0.0.1:" + std::to_string(port), "--webhook-secret-file",
                 (dir / "secret").string(), "--allow-repo", "owner/talos-build", "--executor", "local", "--config",
                 write_service_config(dir.path()).string()},
                dir / "serve.log", {{"GH_TOKEN", ""}, {"GITHUB_TOKEN", ""}});
  wait_for_port(port);
  httplib::Client client("127.0.0.1", port);
  auto scrape = [&] {
    auto r = client.Get("/metrics");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    CHECK(r->get_header_value("Content-Type").starts_with("text/plain; version=0.0.4"));
    return parse_prometheus_text(r->body);
  };
  auto first = scrape();
  CHECK(first.problems.empty());
  CHECK(first.types["sbpipe_build_info"] == "gauge");
  bool found_info = false;
  for (const auto& [series, value] : first.samples)
    if (series.starts_with("sbpipe_build_info{version=\"" SBPIPE_VERSION "\",commit=\"")) found_info = value == 1;
  CHECK(found_info);
  CHECK(first.value("sbpipe_local_queue_depth") == 0);
  CHECK(first.value("sbpipe_local_runs_total{outcome=\"failed\"}") == 0);
  CHECK(first.types["sbpipe_last_successful_release_timestamp_seconds"] == "gauge");
  CHECK_FALSE(first.has("sbpipe_last_successful_release_timestamp_seconds"));

  nlohmann::json payload = {{"action", "prereleased"},
                            {"release", {{"id", 77}, {"tag_name", "v1.9.0"}, {"prerelease", true}, {"draft", false}}},
                            {"repository", {{"full_name", "owner/talos-build"}, {"private", true}}}};
  std::string body = payload.dump();
  httplib::Headers headers{
      {"X-GitHub-Event", "release"}, {"X-GitHub-Delivery", "d-1"}, {"X-Hub-Signature-256", webhook_signature(k_secret, body)}};
  auto delivered = client.Post("/webhook", headers, body, "application/json");
  REQUIRE(delivered);
  CHECK(delivered->status == 201);

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  PrometheusText after = scrape();
  while (after.value("sbpipe_local_runs_total{outcome=\"failed\"}") < 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    after = scrape();
  }
  CHECK(after.problems.empty());
  CHECK(after.value("sbpipe_local_runs_total{outcome=\"failed\"}") == 1);
  CHECK(after.value("sbpipe_local_runs_total{outcome=\"succeeded\"}") == 0);
  CHECK(after.value("sbpipe_local_queue_depth") == 0);
  CHECK(after.value("sbpipe_local_runs_running") == 0);
  CHECK(after.value("sbpipe_webhook_deliveries_total{event=\"release\",action=\"prereleased\",outcome=\"created\"}") == 1);
}

}  // TEST_SUITE("integration")

}  // namespace
}  // namespace sbpipe::test

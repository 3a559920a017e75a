// The Boost.Beast/Asio adapter: the only file of sbpipe that includes them.
// Each connection is a Session on its own strand; the listener keeps a list
// of weak references to them for the connection cap and for stop().

#include "webhook/http_listener.h"

#include <spdlog/spdlog.h>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <list>
#include <mutex>
#include <thread>

#include "core/ascii.h"

namespace sbpipe {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using ListenerClock = std::chrono::steady_clock;

// Where a connection is. waiting: between requests; reading_header: the
// request head is arriving; reading_body: its body is (m_body_bytes counts
// it); handling: a handler has it; writing: the answer goes out.
enum class Phase { waiting, reading_header, reading_body, handling, writing, closing };

// A body arriving slower than this, averaged over at least k_body_grace, is
// a slow client's: its connection may be evicted at the cap. A delivery
// sent by GitHub (at most 25 MiB, usually a few KiB in one segment) arrives
// orders of magnitude faster.
constexpr uint64_t k_min_body_rate = 8u << 10;  // bytes per second
constexpr auto k_body_grace = std::chrono::seconds(1);

// What the listener and its sessions share. Outlives every session: serve()
// returns only after the io_context ran out of work.
struct Shared {
  ListenerLimits limits;
  std::vector<Route> routes;
  std::function<void(const Refusal&)> on_refused;
  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> accepted{0}, evicted{0}, refused_full{0}, timed_out{0};
  std::atomic<int64_t> open{0};
};

class SessionBase : public std::enable_shared_from_this<SessionBase> {
public:
  virtual ~SessionBase() = default;
  // Closes the connection soon (posted to its strand). Any thread.
  virtual void close_soon() = 0;
  Phase phase() const { return m_phase.load(std::memory_order_relaxed); }
  ListenerClock::time_point phase_since() const {
    return ListenerClock::time_point(ListenerClock::duration(m_since.load(std::memory_order_relaxed)));
  }
  // Whether a new connection may close this one at the cap: one that is
  // idle or has not sent its whole request head, or whose body arrives
  // slower than k_min_body_rate; never one whose request is being handled
  // or answered, nor a body arriving at a reasonable rate.
  bool evictable(ListenerClock::time_point now) const {
    switch (phase()) {
    case Phase::waiting:
    case Phase::reading_header: return true;
    case Phase::reading_body: {
      auto elapsed = now - phase_since();
      if (elapsed < k_body_grace) return false;
      double seconds = std::chrono::duration<double>(elapsed).count();
      return static_cast<double>(m_body_bytes.load(std::memory_order_relaxed)) < seconds * k_min_body_rate;
    }
    default: return false;
    }
  }

protected:
  void set_phase(Phase p) {
    m_phase.store(p, std::memory_order_relaxed);
    m_since.store(ListenerClock::now().time_since_epoch().count(), std::memory_order_relaxed);
  }
  void count_body(size_t n) { m_body_bytes.fetch_add(n, std::memory_order_relaxed); }
  void reset_body() { m_body_bytes.store(0, std::memory_order_relaxed); }

private:
  std::atomic<Phase> m_phase{Phase::waiting};
  std::atomic<ListenerClock::rep> m_since{ListenerClock::now().time_since_epoch().count()};
  std::atomic<uint64_t> m_body_bytes{0};
};

// The open connections, for the cap and for stop(). The list holds weak
// references; a session removes itself in its destructor, which takes the
// list's lock. So no strong reference may be dropped while the lock is held
// (the last one would run that destructor on this thread and deadlock it,
// issue 30): every method takes its references under the lock and lets
// them go after releasing it.
class SessionList {
public:
  using Handle = std::list<std::weak_ptr<SessionBase>>::iterator;
  Handle add(const std::shared_ptr<SessionBase>& s) {
    std::lock_guard lock(m_mutex);
    return m_sessions.insert(m_sessions.end(), s);
  }
  void remove(Handle h) {
    std::lock_guard lock(m_mutex);
    m_sessions.erase(h);
  }
  // The session to close for a new connection at the cap: of the evictable
  // ones (SessionBase::evictable), an idle one or one still sending its
  // head before a slow body, and the one waiting longest among those;
  // nullptr when none is evictable.
  std::shared_ptr<SessionBase> oldest_evictable() {
    auto sessions = all();  // strong references, taken and released outside the lock
    auto now = ListenerClock::now();
    std::shared_ptr<SessionBase> best;
    auto rank = [](const SessionBase& s) { return s.phase() == Phase::reading_body ? 1 : 0; };
    for (auto& s : sessions) {
      if (!s->evictable(now)) continue;
      if (!best || rank(*s) < rank(*best) || (rank(*s) == rank(*best) && s->phase_since() < best->phase_since())) best = s;
    }
    return best;
  }
  std::vector<std::shared_ptr<SessionBase>> all() {
    std::vector<std::shared_ptr<SessionBase>> out;
    std::lock_guard lock(m_mutex);
    out.reserve(m_sessions.size());
    for (auto& weak : m_sessions)
      if (auto s = weak.lock()) out.push_back(std::move(s));
    return out;
  }

private:
  std::mutex m_mutex;
  std::list<std::weak_ptr<SessionBase>> m_sessions;
};

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

bool is_timeout(const beast::error_code& ec) { return ec == beast::error::timeout; }

template <class Stream>
class Session final : public SessionBase {
public:
  static constexpr bool k_tls = !std::is_same_v<Stream, beast::tcp_stream>;

  Session(Stream stream, Shared& shared, SessionList& list) : m_stream(std::move(stream)), m_shared(shared), m_list(list) {
    m_shared.open.fetch_add(1);
  }
  template <class Socket>
  Session(Socket&& socket, asio::ssl::context& ctx, Shared& shared, SessionList& list)
      : m_stream(std::forward<Socket>(socket), ctx), m_shared(shared), m_list(list) {
    m_shared.open.fetch_add(1);
  }
  ~Session() override {
    if (m_registered) m_list.remove(m_handle);
    m_shared.open.fetch_sub(1);
  }

  void start() {
    m_handle = m_list.add(shared_from_this());
    m_registered = true;
    asio::dispatch(m_stream.get_executor(), [self = self()] {
      if constexpr (k_tls) {
        self->lowest().expires_after(self->m_shared.limits.request_timeout);
        self->m_stream.async_handshake(asio::ssl::stream_base::server, [self](beast::error_code ec) {
          if (ec) return self->close_now(ec);
          self->wait_request();
        });
      } else {
        self->wait_request();
      }
    });
  }

  void close_soon() override {
    asio::post(m_stream.get_executor(), [self = self()] { self->close_now({}); });
  }

private:
  std::shared_ptr<Session> self() { return std::static_pointer_cast<Session>(shared_from_this()); }
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(m_stream); }

  void wait_request() {
    if (m_shared.stopping.load()) return close_now({});
    set_phase(Phase::waiting);
    if (m_buffer.size() > 0) return read_header();  // pipelined bytes already here
    lowest().expires_after(m_first ? m_shared.limits.request_timeout : m_shared.limits.idle_timeout);
    m_stream.async_read_some(m_buffer.prepare(8192), [self = self()](beast::error_code ec, size_t n) {
      if (ec) return self->close_now(ec);
      self->m_buffer.commit(n);
      self->read_header();
    });
  }

  void read_header() {
    set_phase(Phase::reading_header);
    lowest().expires_after(m_shared.limits.request_timeout);  // header and body together
    m_parser.emplace();
    m_parser->header_limit(static_cast<uint32_t>(m_shared.limits.max_header_bytes));
    // Checked in on_header, then set for the body. (Not boost::none: Beast
    // 1.74 compares a Content-Length with an empty optional as "larger".)
    m_parser->body_limit(std::numeric_limits<std::uint64_t>::max());
    http::async_read_header(m_stream, m_buffer, *m_parser,
                            [self = self()](beast::error_code ec, size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec == http::error::header_limit)
      return refuse(431, "request header larger than " + std::to_string(m_shared.limits.max_header_bytes) + " bytes");
    if (ec == beast::error::timeout || ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset || ec == asio::ssl::error::stream_truncated)
      return close_now(ec);
    if (ec) return refuse(400, "malformed HTTP request (" + ec.message() + ")");
    auto& req = m_parser->get();
    std::string_view target(req.target().data(), req.target().size());
    m_path = std::string(target.substr(0, target.find('?')));
    m_method = std::string(req.method_string());
    m_route = nullptr;
    bool path_known = false;
    for (const auto& route : m_shared.routes) {
      if (route.path != m_path) continue;
      path_known = true;
      if (route.method == m_method) m_route = &route;
    }
    if (!path_known) return refuse(404, "no such path");
    if (m_route == nullptr) return refuse(405, "method " + m_method + " not allowed here");
    if (auto it = req.find(http::field::content_encoding); it != req.end()) {
      std::string coding = ascii_lower(trim(std::string_view(it->value().data(), it->value().size())));
      if (coding != "identity" && !coding.empty())
        return refuse(415,
                      "Content-Encoding " + coding.substr(0, 32) + " is not accepted (GitHub sends deliveries uncompressed)");
    }
    if (auto it = req.find(http::field::transfer_encoding); it != req.end()) {
      std::string coding = ascii_lower(trim(std::string_view(it->value().data(), it->value().size())));
      if (coding != "chunked") return refuse(501, "Transfer-Encoding " + coding.substr(0, 32) + " is not supported");
    }
    if (auto length = m_parser->content_length(); length && *length > m_shared.limits.max_body)
      return refuse(413, "body larger than " + std::to_string(m_shared.limits.max_body) + " bytes");
    if (m_parser->is_done()) return dispatch();
    m_parser->body_limit(m_shared.limits.max_body);
    auto expect = req.find(http::field::expect);
    if (expect != req.end() &&
        ascii_lower(trim(std::string_view(expect->value().data(), expect->value().size()))) == "100-continue") {
      m_continue.emplace(http::status::continue_, req.version());
      http::async_write(m_stream, *m_continue, [self = self()](beast::error_code wec, size_t) {
        if (wec) return self->close_now(wec);
        self->start_body();
      });
      return;
    }
    start_body();
  }

  // The body in pieces, each counted, so that the eviction rule can tell a
  // delivery arriving at a reasonable rate from a trickle.
  void start_body() {
    reset_body();
    set_phase(Phase::reading_body);
    read_body();
  }
  void read_body() {
    http::async_read_some(m_stream, m_buffer, *m_parser, [self = self()](beast::error_code ec, size_t n) {
      if (ec == http::error::body_limit)
        return self->refuse(413, "body larger than " + std::to_string(self->m_shared.limits.max_body) + " bytes");
      if (ec == beast::error::timeout || ec == asio::error::eof || ec == http::error::partial_message ||
          ec == asio::error::operation_aborted || ec == asio::error::connection_reset)
        return self->close_now(ec);
      if (ec) return self->refuse(400, "malformed HTTP request body (" + ec.message() + ")");
      self->count_body(n);
      if (self->m_parser->is_done()) return self->dispatch();
      self->read_body();
    });
  }

  void dispatch() {
    set_phase(Phase::handling);
    auto& req = m_parser->get();
    m_keep_alive = req.keep_alive();
    m_version = req.version();
    ServerRequest request;
    request.method = m_method;
    request.path = m_path;
    for (const auto& field : req) request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    request.body = std::move(req.body());
    m_parser.reset();
    // The reply may come from another thread: it holds the session and keeps
    // the io_context running until it was called (or dropped).
    Reply reply = [self = self(), work = asio::make_work_guard(m_stream.get_executor())](ServerResponse response) {
      asio::dispatch(self->m_stream.get_executor(),
                     [self, response = std::move(response)]() mutable { self->answer(std::move(response), Close::no); });
    };
    m_route->handler(request, std::move(reply));
  }

  enum class Close { yes, no };

  void refuse(int status, std::string reason) {
    if (m_shared.on_refused) m_shared.on_refused(Refusal{m_method, m_path, status, reason});
    m_keep_alive = false;
    m_version = 11;
    nlohmann::json body = {{"status", "refused"}, {"error", reason}};
    answer(ServerResponse{status, "application/json", body.dump() + "\n"}, Close::yes);
  }

  void answer(ServerResponse response, Close close) {
    set_phase(Phase::writing);
    bool keep = close == Close::no && m_keep_alive && !m_shared.stopping.load();
    m_response.emplace(static_cast<http::status>(response.status), m_version);
    m_response->set(http::field::content_type, response.content_type);
    m_response->body() = std::move(response.body);
    m_response->keep_alive(keep);
    m_response->prepare_payload();
    lowest().expires_after(m_shared.limits.write_timeout);
    http::async_write(m_stream, *m_response, [self = self(), keep, close](beast::error_code ec, size_t) {
      self->m_response.reset();
      if (ec) return self->close_now(ec);
      self->m_first = false;
      if (keep) return self->wait_request();
      if (close == Close::yes) return self->linger();
      self->close_now({});
    });
  }

  // After refusing a request whose body was not read: stop sending, then
  // read and drop what the client still sends for a short while, so that
  // closing with unread data (which resets the connection) does not destroy
  // the answer before the client could read it.
  void linger() {
    set_phase(Phase::closing);
    beast::error_code ignored;
    if constexpr (!k_tls) lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
    lowest().expires_after(std::chrono::seconds(2));
    drain();
  }
  void drain() {
    m_stream.async_read_some(asio::buffer(m_scratch), [self = self()](beast::error_code ec, size_t) {
      if (ec) return self->close_now({});
      self->drain();
    });
  }

  void close_now(beast::error_code ec) {
    if (is_timeout(ec)) m_shared.timed_out.fetch_add(1);
    set_phase(Phase::closing);
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().close();
  }

  Stream m_stream;
  Shared& m_shared;
  SessionList& m_list;
  SessionList::Handle m_handle{};
  bool m_registered = false;
  beast::flat_buffer m_buffer;
  std::optional<http::request_parser<http::string_body>> m_parser;
  std::optional<http::response<http::string_body>> m_response;
  std::optional<http::response<http::empty_body>> m_continue;
  const Route* m_route = nullptr;
  std::string m_method, m_path;
  bool m_keep_alive = false;
  unsigned m_version = 11;
  bool m_first = true;
  std::array<char, 4096> m_scratch{};
};

void set_cloexec(int fd) { ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC); }

// Lets the process hold max_connections sockets: the soft RLIMIT_NOFILE is
// raised towards the hard one (Go does the same at start-up). Returns the
// number of connections that fit.
int fit_connections(int wanted) {
  constexpr rlim_t k_reserve = 64;  // files, the API client, the listener
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return wanted;
  rlim_t need = static_cast<rlim_t>(wanted) + k_reserve;
  if (limit.rlim_cur < need) {
    limit.rlim_cur = std::min(need, limit.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &limit);
    ::getrlimit(RLIMIT_NOFILE, &limit);
  }
  if (limit.rlim_cur >= need) return wanted;
  int fits = limit.rlim_cur > k_reserve + 1 ? static_cast<int>(limit.rlim_cur - k_reserve) : 1;
  spdlog::warn("open-file limit {} allows {} connections, not {}", static_cast<uint64_t>(limit.rlim_cur), fits, wanted);
  return fits;
}

}  // namespace

struct HttpListener::Impl {
  Shared shared;
  SessionList sessions;
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::optional<asio::ssl::context> tls;
  asio::thread_pool blocking;
  asio::steady_timer retry_timer{ioc};

  explicit Impl(int blocking_threads) : blocking(static_cast<size_t>(std::max(1, blocking_threads))) {}

  void accept() {
    acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
      if (!acceptor.is_open() || shared.stopping.load()) return;
      if (ec) {
        // EMFILE and the like: back off briefly rather than spin.
        spdlog::warn("webhook listener: accept failed: {}", ec.message());
        retry_timer.expires_after(std::chrono::milliseconds(50));
        retry_timer.async_wait([this](beast::error_code) { accept(); });
        return;
      }
      admit(std::move(socket));
      // Take every connection already queued before waiting again: one
      // accept per trip through the handler queue let a burst of new
      // connections wait behind the requests of those already accepted,
      // for seconds at 512 connections.
      for (int i = 0; i < 256; ++i) {
        beast::error_code more;
        tcp::socket next = acceptor.accept(asio::make_strand(ioc), more);
        if (more) break;  // would_block: the queue is empty
        admit(std::move(next));
      }
      accept();
    });
  }

  void admit(tcp::socket socket) {
    shared.accepted.fetch_add(1);
    if (shared.open.load() >= shared.limits.max_connections) {
      if (auto victim = sessions.oldest_evictable()) {
        shared.evicted.fetch_add(1);
        victim->close_soon();
      } else {
        shared.refused_full.fetch_add(1);
        beast::error_code ignored;
        socket.close(ignored);
        return;
      }
    }
    beast::error_code ignored;
    set_cloexec(socket.native_handle());
    socket.set_option(tcp::no_delay(true), ignored);
    if (tls) {
      auto s = std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(beast::tcp_stream(std::move(socket)), *tls, shared,
                                                                               sessions);
      s->start();
    } else {
      auto s = std::make_shared<Session<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)), shared, sessions);
      s->start();
    }
  }
};

HttpListener::HttpListener(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
HttpListener::~HttpListener() { m_impl->blocking.join(); }

Result<std::unique_ptr<HttpListener>> HttpListener::create(ListenerLimits limits, std::vector<Route> routes,
                                                           std::optional<ListenerTls> tls,
                                                           std::function<void(const Refusal&)> on_refused) {
  auto impl = std::make_unique<Impl>(limits.blocking_threads);
  if (limits.io_threads <= 0) limits.io_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  limits.max_connections = fit_connections(std::max(1, limits.max_connections));
  impl->shared.limits = limits;
  impl->shared.routes = std::move(routes);
  impl->shared.on_refused = std::move(on_refused);
  if (tls) {
    impl->tls.emplace(asio::ssl::context::tls_server);
    auto& ctx = *impl->tls;
    ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                    asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
    beast::error_code ec;
    ctx.use_certificate_chain(asio::buffer(tls->cert_pem), ec);
    if (ec) return fail(ErrorKind::config, "TLS certificate unusable (" + ec.message() + ")");
    ctx.use_private_key(asio::buffer(tls->key_pem), asio::ssl::context::pem, ec);
    if (ec) return fail(ErrorKind::config, "TLS key unusable (" + ec.message() + ")");
    if (!SSL_CTX_check_private_key(ctx.native_handle())) return fail(ErrorKind::config, "TLS key does not match the certificate");
  }
  return std::unique_ptr<HttpListener>(new HttpListener(std::move(impl)));
}

Result<int> HttpListener::bind(const std::string& host, int port) {
  auto& impl = *m_impl;
  std::string where = host + ":" + std::to_string(port);
  beast::error_code ec;
  tcp::resolver resolver(impl.ioc);
  auto endpoints = resolver.resolve(host, std::to_string(port), tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty())
    return fail(ErrorKind::io, "cannot listen on " + where + ": " + (ec ? ec.message() : "no address"));
  tcp::endpoint endpoint = endpoints.begin()->endpoint();
  impl.acceptor.open(endpoint.protocol(), ec);
  // Asio does not open sockets close-on-exec: without it, the runs the local
  // executor starts would inherit the listening socket and keep the port.
  if (!ec) set_cloexec(impl.acceptor.native_handle());
  if (!ec) impl.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl.acceptor.bind(endpoint, ec);
  if (!ec) impl.acceptor.listen(impl.shared.limits.backlog, ec);
  if (!ec) impl.acceptor.non_blocking(true, ec);  // for the batch accepts in accept()
  if (ec) {
    beast::error_code ignored;
    impl.acceptor.close(ignored);
    return fail(ErrorKind::io, "cannot listen on " + where + ": " + ec.message());
  }
  return static_cast<int>(impl.acceptor.local_endpoint().port());
}

Status HttpListener::serve() {
  auto& impl = *m_impl;
  if (!impl.acceptor.is_open()) return fail(ErrorKind::io, "the webhook listener is not bound");
  impl.accept();
  std::vector<std::thread> threads;
  for (int i = 1; i < impl.shared.limits.io_threads; ++i) threads.emplace_back([&impl] { impl.ioc.run(); });
  impl.ioc.run();
  for (auto& t : threads) t.join();
  impl.blocking.join();
  return {};
}

void HttpListener::stop() {
  auto& impl = *m_impl;
  asio::post(impl.ioc, [&impl] {
    impl.shared.stopping.store(true);
    beast::error_code ignored;
    impl.acceptor.close(ignored);
    impl.retry_timer.cancel();
    for (auto& s : impl.sessions.all())
      if (s->phase() == Phase::waiting) s->close_soon();
  });
}

void HttpListener::run_blocking(std::function<void()> work) { asio::post(m_impl->blocking, std::move(work)); }

ListenerCounters HttpListener::counters() const {
  const auto& s = m_impl->shared;
  return ListenerCounters{s.accepted.load(), s.evicted.load(), s.refused_full.load(), s.timed_out.load(), s.open.load()};
}

const ListenerLimits& HttpListener::limits() const { return m_impl->shared.limits; }

}  // namespace sbpipe

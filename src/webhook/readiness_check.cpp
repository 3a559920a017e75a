#include "webhook/readiness_check.h"

#include <spdlog/spdlog.h>

#include "core/redact.h"

namespace sbpipe {

using Steady = std::chrono::steady_clock;

ReadinessCheck::ReadinessCheck(std::function<Status()> check, ReadinessOptions options)
    : m_check(std::move(check)), m_options(options) {}

ReadinessCheck::~ReadinessCheck() { stop(); }

void ReadinessCheck::start() {
  std::lock_guard lock(m_mutex);
  if (m_thread.joinable() || m_stopping) return;
  m_thread = std::thread([this] { run(); });
}

void ReadinessCheck::stop() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_wake.notify_all();
  if (m_thread.joinable()) m_thread.join();
}

Readiness ReadinessCheck::current() {
  std::lock_guard lock(m_mutex);
  if (m_state != Readiness::unknown && Steady::now() - m_checked > m_options.fresh && !m_wanted) {
    m_wanted = true;
    m_wake.notify_all();
  }
  return m_state;
}

void ReadinessCheck::run() {
  std::unique_lock lock(m_mutex);
  while (!m_stopping) {
    m_wanted = false;
    lock.unlock();
    auto st = m_check();  // outside the lock: probes keep reading the last result
    std::string reason = st ? "" : redact(st.error().message());
    lock.lock();
    Readiness now = st ? Readiness::ready : Readiness::not_ready;
    if (now == Readiness::not_ready && (m_state != now || m_reason != reason))
      spdlog::warn("not ready (GET /readyz answers 503): {}", reason);
    else if (now == Readiness::ready && m_state == Readiness::not_ready)
      spdlog::info("ready again (GET /readyz answers 200)");
    m_state = now;
    m_reason = std::move(reason);
    m_checked = Steady::now();
    // The next check: after the interval, or when a probe found this one
    // stale, but never sooner than `fresh` after this one.
    m_wake.wait_for(lock, m_options.interval, [this] { return m_stopping || m_wanted; });
    if (!m_stopping && m_wanted) m_wake.wait_until(lock, m_checked + m_options.fresh, [this] { return m_stopping; });
  }
}

}  // namespace sbpipe

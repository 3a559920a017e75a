#include "core/progress.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>

#include "core/progress_board.h"

namespace sbpipe {

std::string format_bytes(uint64_t bytes) {
  char buf[32];
  if (bytes >= (1ull << 30))
    std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(bytes) / (1ull << 30));
  else if (bytes >= (1ull << 20))
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1ull << 20));
  else if (bytes >= 1024)
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(bytes) / 1024);
  else
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  return buf;
}

ProgressSource::ProgressSource(ByteSource& inner, Clock& clock, std::string label, std::optional<uint64_t> total)
    : m_inner(inner), m_clock(clock), m_label(std::move(label)), m_total(total), m_start(clock.now()),
      m_interval(isatty(STDERR_FILENO) ? 2 : 15) {
  m_next = m_start + m_interval;
  if (ProgressBoard::instance().enabled()) m_row = ProgressBoard::instance().add(m_label, m_total, m_start);
}

ProgressSource::~ProgressSource() {
  if (m_row != 0) ProgressBoard::instance().remove(m_row, m_clock.now());
}

Result<size_t> ProgressSource::read(std::span<char> buffer) {
  auto n = m_inner.read(buffer);
  if (!n) return n;
  m_done += *n;
  auto now = m_clock.now();
  if (m_row != 0) {
    ProgressBoard::instance().update(m_row, m_done, now);
  } else if (now >= m_next && *n > 0) {
    m_next = now + m_interval;
    double secs = std::chrono::duration<double>(now - m_start).count();
    std::string line = m_label + ": " + format_bytes(m_done);
    if (m_total) line += " of " + format_bytes(*m_total);
    if (secs > 0) line += " (" + format_bytes(static_cast<uint64_t>(static_cast<double>(m_done) / secs)) + "/s)";
    spdlog::info("{}", line);
  }
  return n;
}

}  // namespace sbpipe

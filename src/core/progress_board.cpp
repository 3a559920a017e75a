#include "core/progress_board.h"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/log.h"
#include "core/progress.h"

namespace sbpipe {
namespace {

using Steady = std::chrono::steady_clock;
constexpr auto k_redraw_interval = std::chrono::milliseconds(100);
constexpr size_t k_bar_width = 24;

size_t terminal_width() {
  winsize size{};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 80;
}

std::string bar(uint64_t done, uint64_t total) {
  size_t filled = total == 0 ? k_bar_width : static_cast<size_t>(static_cast<double>(done) / total * k_bar_width);
  filled = std::min(filled, k_bar_width);
  std::string text(filled, '=');
  if (filled < k_bar_width) text += '>';
  text.resize(k_bar_width, ' ');
  return "[" + text + "]";
}

std::string duration_text(double seconds) {
  auto s = static_cast<uint64_t>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, s / 60 % 60);
  if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

}  // namespace

std::string render_transfer_row(const TransferRow& row, Steady::time_point now, size_t label_width, size_t width) {
  double secs = std::chrono::duration<double>(now - row.start).count();
  double rate = secs > 0 ? static_cast<double>(row.done) / secs : 0;
  std::string text = fmt::format("{:<{}}  ", row.label, label_width);
  if (row.total) {
    text += bar(row.done, *row.total) + fmt::format("  {} / {}", format_bytes(row.done), format_bytes(*row.total));
  } else {
    text += format_bytes(row.done);
  }
  if (rate > 0) {
    text += "  " + format_bytes(static_cast<uint64_t>(rate)) + "/s";
    if (row.total && *row.total > row.done) text += "  ETA " + duration_text(static_cast<double>(*row.total - row.done) / rate);
  }
  if (text.size() > width) text.resize(width);  // a wrapped line would break the cursor arithmetic
  return text;
}

ProgressBoard& ProgressBoard::instance() {
  static ProgressBoard board;
  return board;
}

bool ProgressBoard::enabled() {
  std::lock_guard lock(m_mutex);
  if (!m_decided) {
    const char* term = std::getenv("TERM");
    m_enabled = isatty(STDERR_FILENO) == 1 && (term == nullptr || std::strcmp(term, "dumb") != 0) &&
                current_log_format() == LogFormat::text;
    m_decided = true;
  }
  return m_enabled;
}

size_t ProgressBoard::add(std::string label, std::optional<uint64_t> total, Steady::time_point now) {
  std::lock_guard lock(m_mutex);
  if (m_rows.empty()) {  // a new batch: the overall line starts again
    m_finished_done = m_finished_total = 0;
    m_total_known = true;
    m_batch_start = now;
  }
  if (!total) m_total_known = false;
  size_t id = m_next_id++;
  m_rows.push_back(Entry{id, TransferRow{std::move(label), total, 0, now}});
  draw(now);
  return id;
}

void ProgressBoard::update(size_t id, uint64_t done, Steady::time_point now) {
  std::lock_guard lock(m_mutex);
  for (auto& e : m_rows)
    if (e.id == id) e.row.done = done;
  if (now - m_last_draw >= k_redraw_interval) draw(now);
}

void ProgressBoard::remove(size_t id, Steady::time_point now) {
  std::lock_guard lock(m_mutex);
  auto it = std::find_if(m_rows.begin(), m_rows.end(), [id](const Entry& e) { return e.id == id; });
  if (it == m_rows.end()) return;
  m_finished_done += it->row.done;
  m_finished_total += it->row.total.value_or(it->row.done);
  m_rows.erase(it);
  draw(now);
}

void ProgressBoard::write_above(std::string_view text) {
  std::lock_guard lock(m_mutex);
  std::string out = clear_sequence();
  out += text;
  m_drawn = 0;
  std::fwrite(out.data(), 1, out.size(), stderr);
  if (!m_rows.empty()) draw(Steady::now());
  std::fflush(stderr);
}

std::string ProgressBoard::clear_sequence() const {
  if (m_drawn == 0) return "";
  // Up to the display's first line, to its start, and erase to the end.
  return fmt::format("\x1b[{}A\r\x1b[J", m_drawn);
}

std::string ProgressBoard::frame(Steady::time_point now) const {
  size_t width = terminal_width() - 1;
  size_t label_width = 0;
  for (const auto& e : m_rows) label_width = std::max(label_width, e.row.label.size());
  std::string out;
  uint64_t done = m_finished_done, total = m_finished_total;
  for (const auto& e : m_rows) {
    out += "\r\x1b[2K" + render_transfer_row(e.row, now, label_width, width) + "\n";
    done += e.row.done;
    total += e.row.total.value_or(0);
  }
  TransferRow overall{fmt::format("total ({} active)", m_rows.size()), std::nullopt, done, m_batch_start};
  if (m_total_known) overall.total = total;
  out += "\r\x1b[2K" + render_transfer_row(overall, now, label_width, width) + "\n";
  return out;
}

void ProgressBoard::draw(Steady::time_point now) {
  if (!m_enabled) return;
  std::string out = clear_sequence();
  if (!m_rows.empty()) out += frame(now);
  m_drawn = m_rows.empty() ? 0 : m_rows.size() + 1;
  m_last_draw = now;
  std::fwrite(out.data(), 1, out.size(), stderr);
  std::fflush(stderr);
}

}  // namespace sbpipe

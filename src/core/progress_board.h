#pragma once
// The live transfer display on a terminal: one line per transfer (label,
// bar, done/total, rate, ETA) and an overall line, redrawn in place on
// stderr (carriage return, erase line, cursor up: the sequences docker push
// and skopeo's bars use). Log lines written while it is shown go above it
// (see write_above), so a log line and the display never overwrite each
// other.
//
// It is on only when stderr is a terminal, TERM is not "dumb" and logs are
// text (`--log-format json` is for machines); otherwise ProgressSource logs
// plain lines as before. Thread-safe: transfers on several threads share it.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sbpipe {

// One transfer's state as the board draws it.
struct TransferRow {
  std::string label;
  std::optional<uint64_t> total;
  uint64_t done = 0;
  std::chrono::steady_clock::time_point start;
};

// The display text of a row at `now`, at most `width` bytes:
// "LABEL  [=======>        ]  86.0 MiB / 400.3 MiB  42.4 MiB/s  ETA 7s".
// `label_width` aligns the labels of one board.
std::string render_transfer_row(const TransferRow& row, std::chrono::steady_clock::time_point now, size_t label_width,
                                size_t width);

class ProgressBoard {
public:
  // The process's board (stderr).
  static ProgressBoard& instance();

  // Whether transfers draw on the board (decided once, at the first call).
  bool enabled();

  // A new row; its id for update() and remove(). Draws at once.
  size_t add(std::string label, std::optional<uint64_t> total, std::chrono::steady_clock::time_point now);
  // Redraws at most ten times a second.
  void update(size_t id, uint64_t done, std::chrono::steady_clock::time_point now);
  // The row leaves the board (its transfer ended or failed).
  void remove(size_t id, std::chrono::steady_clock::time_point now);

  // Writes `text` (whole lines) to stderr above the display, then redraws.
  // When nothing is shown, just writes it.
  void write_above(std::string_view text);

  // Tests: decide `enabled` without looking at the terminal.
  void TEST_set_enabled(bool on) {
    m_decided = true;
    m_enabled = on;
  }

private:
  ProgressBoard() = default;
  std::string frame(std::chrono::steady_clock::time_point now) const;  // REQUIRES: m_mutex held
  void draw(std::chrono::steady_clock::time_point now);                // REQUIRES: m_mutex held
  std::string clear_sequence() const;                                  // REQUIRES: m_mutex held

  struct Entry {
    size_t id;
    TransferRow row;
  };
  std::mutex m_mutex;
  bool m_decided = false;
  bool m_enabled = false;
  size_t m_next_id = 1;
  std::vector<Entry> m_rows;
  uint64_t m_finished_done = 0;   // bytes of the rows already removed (this batch)
  uint64_t m_finished_total = 0;  // their totals
  bool m_total_known = true;      // every row of the batch has a total
  std::chrono::steady_clock::time_point m_batch_start;
  std::chrono::steady_clock::time_point m_last_draw;
  size_t m_drawn = 0;  // lines of the display now on the screen, above the cursor
};

}  // namespace sbpipe

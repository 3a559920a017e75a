#pragma once
// Transfer progress for long streams (blobs, release assets): a ByteSource
// wrapper that logs how far it got, and a human-readable byte count.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "core/clock.h"
#include "core/stream.h"

namespace sbpipe {

// Shows transfer progress of the bytes passing through: on a terminal, as a
// row of the live display (progress_board.h) while the source lives;
// otherwise a log line every 15 s (every 2 s on a terminal whose display is
// off, as with --log-format json).
class ProgressSource final : public ByteSource {
public:
  ProgressSource(ByteSource& inner, Clock& clock, std::string label, std::optional<uint64_t> total);
  ~ProgressSource() override;
  ProgressSource(const ProgressSource&) = delete;
  ProgressSource& operator=(const ProgressSource&) = delete;
  Result<size_t> read(std::span<char> buffer) override;

private:
  ByteSource& m_inner;
  Clock& m_clock;
  std::string m_label;
  std::optional<uint64_t> m_total;
  uint64_t m_done = 0;
  std::chrono::steady_clock::time_point m_start;
  std::chrono::steady_clock::time_point m_next;
  std::chrono::seconds m_interval;
  size_t m_row = 0;  // its row on the live display, or 0
};

std::string format_bytes(uint64_t bytes);

}  // namespace sbpipe

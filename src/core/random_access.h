#pragma once
// Random access to bytes that stay where they are: the PE parser reads
// headers and sections at offsets through this seam, so a 100 MiB UKI is
// hashed from disk in chunks and the fuzzer can hand it bytes in memory.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string_view>

#include "core/error.h"

namespace sbpipe {

class RandomAccess {
public:
  virtual ~RandomAccess() = default;
  virtual uint64_t size() const = 0;
  // Fills `buffer` whole from `offset`. invalid_input when the range runs
  // past size() (a truncated file); io on read errors. Safe to call from
  // several threads at once (positioned reads, no shared cursor).
  virtual Status read_at(uint64_t offset, std::span<char> buffer) const = 0;
};

// Over bytes owned by the caller, which must outlive it.
class MemoryRandomAccess final : public RandomAccess {
public:
  explicit MemoryRandomAccess(std::string_view bytes) : m_bytes(bytes) {}
  uint64_t size() const override { return m_bytes.size(); }
  Status read_at(uint64_t offset, std::span<char> buffer) const override;

private:
  std::string_view m_bytes;
};

// Opens a file for positioned reads. not_found when missing, io otherwise.
Result<std::unique_ptr<RandomAccess>> open_random_access(const std::filesystem::path& path);

// True when [offset, offset + length) lies within [0, size), without overflow.
inline bool range_fits(uint64_t offset, uint64_t length, uint64_t size) { return offset <= size && length <= size - offset; }

}  // namespace sbpipe

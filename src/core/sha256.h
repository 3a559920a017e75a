#pragma once
// Incremental SHA-256 (OpenSSL underneath). Not thread-safe; one per stream.

#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace sbpipe {

class Sha256 {
public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  void update(std::span<const char> data);
  void update(std::string_view data) { update(std::span<const char>(data.data(), data.size())); }
  // Returns the lowercase hex digest. The object must not be used afterwards.
  std::string finish_hex();

  static std::string hex_of(std::string_view data);

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace sbpipe

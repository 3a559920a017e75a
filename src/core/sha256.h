#pragma once
// Incremental SHA-256 and SHA-512 (OpenSSL underneath). Not thread-safe; one
// object per stream.

#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace sbpipe {

enum class HashAlgorithm { sha256, sha512 };

template <HashAlgorithm A>
class Hash {
public:
  Hash();
  ~Hash();
  Hash(const Hash&) = delete;
  Hash& operator=(const Hash&) = delete;
  Hash(Hash&&) noexcept;
  Hash& operator=(Hash&&) noexcept;

  void update(std::span<const char> data);
  void update(std::string_view data) { update(std::span<const char>(data.data(), data.size())); }
  // Returns the lowercase hex digest. The object must not be used afterwards.
  std::string finish_hex();

  static std::string hex_of(std::string_view data);
  // The raw digest (32 or 64 bytes) of `data`.
  static std::string bytes_of(std::string_view data);

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

using Sha256 = Hash<HashAlgorithm::sha256>;
using Sha512 = Hash<HashAlgorithm::sha512>;  // sha512sum.txt of a release

extern template class Hash<HashAlgorithm::sha256>;
extern template class Hash<HashAlgorithm::sha512>;

}  // namespace sbpipe

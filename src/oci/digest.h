#pragma once
// Content digests. sbpipe writes only sha256; it reads only sha256 too, and
// says so when an input uses another algorithm.

#include <string>
#include <string_view>

#include "core/error.h"

namespace sbpipe {

struct Digest {
  std::string hex;  // 64 lowercase hex characters

  std::string str() const { return "sha256:" + hex; }
  std::string short_str() const { return "sha256:" + hex.substr(0, 12); }
  bool operator==(const Digest&) const = default;

  // Parses "sha256:<64 lowercase hex>". invalid_input otherwise.
  static Result<Digest> parse(std::string_view text);
  static bool is_hex64(std::string_view text);
  static Digest of(std::string_view data);
};

}  // namespace sbpipe

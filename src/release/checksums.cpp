#include "release/checksums.h"

#include <algorithm>

namespace sbpipe {
namespace {

size_t hex_length(DigestKind kind) { return kind == DigestKind::sha256 ? 64 : 128; }

bool is_lower_hex(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

bool is_checksum_file(std::string_view name) {
  constexpr std::string_view k_bundle = ".sigstore.json";
  if (name.ends_with(k_bundle)) name.remove_suffix(k_bundle.size());
  return name == k_sha256_sums || name == k_sha512_sums || name == k_legacy_sha256_sums;
}

std::string_view digest_name(DigestKind kind) { return kind == DigestKind::sha256 ? "sha256" : "sha512"; }

std::string digest_prefix(const std::string& hex) { return hex.substr(0, 16) + "..."; }

std::string format_checksums(const ChecksumList& list) {
  std::string text;
  for (const auto& [name, hex] : list) text += hex + "  " + name + "\n";
  return text;
}

Result<ChecksumList> parse_checksums(std::string_view text, DigestKind kind, std::string_view label) {
  const size_t n = hex_length(kind);
  ChecksumList list;
  size_t line_no = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    auto bad = [&](std::string_view why) {
      return fail(ErrorKind::invalid_input, std::string(label) + " line " + std::to_string(line_no) + ": " + std::string(why));
    };
    // "<hex>  <name>" (text mode) or "<hex> *<name>" (binary mode).
    if (line.size() < n + 3 || line[n] != ' ' || (line[n + 1] != ' ' && line[n + 1] != '*'))
      return bad("expected '<" + std::string(digest_name(kind)) + ">  <name>'");
    std::string hex(line.substr(0, n));
    std::transform(hex.begin(), hex.end(), hex.begin(), [](unsigned char c) { return std::tolower(c); });
    if (!is_lower_hex(hex)) return bad("not a " + std::string(digest_name(kind)) + " hex digest");
    std::string name(line.substr(n + 2));
    if (!list.emplace(name, hex).second) return bad("'" + name + "' is listed twice");
  }
  return list;
}

LocalAsset checksum_asset(std::string_view name, const ChecksumList& list) {
  return memory_asset(std::string(name), format_checksums(list));
}

}  // namespace sbpipe

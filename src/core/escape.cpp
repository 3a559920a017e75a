#include "core/escape.h"

namespace sbpipe {
namespace {

constexpr char k_hex[] = "0123456789abcdef";

void hex_byte(std::string& out, const char* prefix, unsigned char c) {
  out += prefix;
  out.push_back(k_hex[c >> 4]);
  out.push_back(k_hex[c & 0xf]);
}

// The length of the well-formed UTF-8 sequence at text[at] (RFC 3629: no
// overlong forms, no surrogates, nothing past U+10FFFF), or 0.
size_t utf8_length(std::string_view text, size_t at) {
  auto b = [&](size_t i) { return at + i < text.size() ? static_cast<unsigned char>(text[at + i]) : 0x00; };
  auto cont = [&](size_t i, unsigned char lo = 0x80, unsigned char hi = 0xbf) { return b(i) >= lo && b(i) <= hi; };
  unsigned char c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c == 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c == 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c == 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c == 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

bool is_c1(std::string_view text, size_t at, size_t length) {
  return length == 2 && static_cast<unsigned char>(text[at]) == 0xc2 && static_cast<unsigned char>(text[at + 1]) <= 0x9f;
}

}  // namespace

std::string escape_controls(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t at = 0; at < text.size();) {
    auto c = static_cast<unsigned char>(text[at]);
    size_t length = utf8_length(text, at);
    if (length == 0) {
      hex_byte(out, "\\x", c);
      ++at;
    } else if (is_c1(text, at, length)) {
      hex_byte(out, "\\u00", static_cast<unsigned char>(text[at + 1]));
      at += 2;
    } else if (length > 1 || c == '\t' || (c >= 0x20 && c != 0x7f)) {
      out.append(text.substr(at, length));
      at += length;
    } else {
      if (c == '\n')
        out += "\\n";
      else if (c == '\r')
        out += "\\r";
      else
        hex_byte(out, "\\x", c);
      ++at;
    }
  }
  return out;
}

std::string escape_invalid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t at = 0; at < text.size();) {
    size_t length = utf8_length(text, at);
    if (length == 0) {
      hex_byte(out, "\\x", static_cast<unsigned char>(text[at]));
      ++at;
    } else {
      out.append(text.substr(at, length));
      at += length;
    }
  }
  return out;
}

std::string escape_json_c1(std::string_view json_text) {
  std::string out;
  out.reserve(json_text.size());
  for (size_t at = 0; at < json_text.size(); ++at) {
    auto c = static_cast<unsigned char>(json_text[at]);
    if (c == 0x7f) {
      out += "\\u007f";
    } else if (c == 0xc2 && at + 1 < json_text.size() && static_cast<unsigned char>(json_text[at + 1]) <= 0x9f &&
               static_cast<unsigned char>(json_text[at + 1]) >= 0x80) {
      hex_byte(out, "\\u00", static_cast<unsigned char>(json_text[at + 1]));
      ++at;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

}  // namespace sbpipe

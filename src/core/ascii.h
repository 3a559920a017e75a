#pragma once
// ASCII case folding, for names compared without case (HTTP header and
// parameter names, FAT and ISO 9660 file names, webhook fields): A-Z become
// a-z, every other byte stays as it is (no locale).

#include <string>
#include <string_view>

namespace sbpipe {

inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace sbpipe

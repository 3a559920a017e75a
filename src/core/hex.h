#pragma once
// Bytes as lowercase hex (digests in reports, file names and JSON), and
// back.

#include <optional>
#include <string>
#include <string_view>

namespace sbpipe {

std::string to_hex(std::string_view bytes);
// nullopt for an odd length or a character that is not a hex digit (either case).
std::optional<std::string> from_hex(std::string_view hex);

}  // namespace sbpipe

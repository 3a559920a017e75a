#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace sbpipe {

std::string base64_encode(std::string_view data);
// nullopt when text is not valid (padded, standard alphabet) base64.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace sbpipe

#pragma once
// Results for machines on stdout, and the checks of flags that choose a
// format.

#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>

#include "core/error.h"

namespace sbpipe {

// Prints one result line to stdout and flushes it.
void print_result_line(const std::string& line);

// Prints text (which ends in its own newline) to stdout and flushes it.
void print_result_text(const std::string& text);

// usage error "<flag> must be a, b or c" unless `value` is one of `allowed`.
Status check_choice(std::string_view flag, std::string_view value, std::initializer_list<std::string_view> allowed);

} // namespace sbpipe

#pragma once
// Results for machines: stdout lines.

#include <filesystem>
#include <string>

#include "core/error.h"

namespace sbpipe {

// Prints one result line to stdout and flushes it.
void print_result_line(const std::string& line);

} // namespace sbpipe

#pragma once
// Results for machines: stdout lines and files written atomically.

#include <filesystem>
#include <string>

#include "core/error.h"

namespace sbpipe {

// Prints one result line to stdout and flushes it.
void print_result_line(const std::string& line);

// Writes `content` to a temporary file beside `path`, then renames it over
// `path`: readers see the old file or the new one, never a part.
Status write_file_atomically(const std::filesystem::path& path, const std::string& content);

} // namespace sbpipe

#pragma once
// Asking a person at a terminal, as `docker login` does when no password
// is piped in: the prompt on stderr (stdout is for results), the answer
// read from stdin, without echo for secrets.

#include <string>
#include <string_view>

#include "core/error.h"

namespace sbpipe {

enum class Echo { on, off };

// Whether stdin is a terminal (a prompt can be answered).
bool stdin_is_terminal();

// Prints `label` (e.g. "Password: ") on stderr and reads one line from
// stdin; with Echo::off the terminal does not show what is typed, and a
// newline is printed after it. The line ends at '\n' (not included).
// usage error when stdin ends first (Ctrl-D).
Result<std::string> prompt_line(std::string_view label, Echo echo);

}  // namespace sbpipe

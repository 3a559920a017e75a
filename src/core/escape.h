#pragma once
// Text that came from outside (archive member names, registry and API
// messages, header values) on its way to a terminal or a log: nothing in it
// may move the cursor, recolour or retitle the terminal, set its clipboard
// (OSC 52) or forge a line. Every table cell (core/table.h), text log record
// (core/log.h) and JSON document sbpipe prints passes through here.

#include <string>
#include <string_view>

namespace sbpipe {

// C0 controls except tab, and DEL, as "\n", "\r" or "\xNN"; C1 controls
// (U+0080 to U+009F, in UTF-8) as "\u0080" to "\u009f"; bytes that are not
// UTF-8 as "\xNN" (a terminal may take a lone 0x9b for CSI). Everything else,
// UTF-8 included, unchanged.
std::string escape_controls(std::string_view text);

// For JSON strings, which must be UTF-8: bytes that are not UTF-8 as the
// four characters "\xNN" (what the text output shows), the rest unchanged.
std::string escape_invalid_utf8(std::string_view text);

// A dumped JSON document with its C1 controls and DEL written as \u escapes
// (JSON allows them raw, a terminal must not see them). The document stays
// the same JSON value: such characters occur only inside strings.
std::string escape_json_c1(std::string_view json_text);

}  // namespace sbpipe

#pragma once
// The EXAMPLES section of each command's --help, as gh prints one
// (`gh release upload --help`: "EXAMPLES" with `$ gh ...` lines): the
// commands a person most often types, by command path ("keys check").

#include <string>
#include <string_view>

namespace sbpipe {

// "Examples:\n  $ sbpipe ...\n..." for the command at `path` ("" for sbpipe
// itself); "" when it has none.
std::string examples_for(std::string_view path);

}  // namespace sbpipe

#include "cli/output.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>

namespace sbpipe {

void print_result_line(const std::string& line) {
  std::fputs((line + "\n").c_str(), stdout);
  std::fflush(stdout);
}

} // namespace sbpipe

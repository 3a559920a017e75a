#include "core/prompt.h"

#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace sbpipe {

bool stdin_is_terminal() { return ::isatty(STDIN_FILENO) == 1; }

Result<std::string> prompt_line(std::string_view label, Echo echo) {
  // Echo off before the label shows: TCSAFLUSH drops what was typed so far,
  // which must not include an answer to the label (a quick typist, or a
  // program answering the prompt, would otherwise lose it and the read wait).
  termios saved{};
  bool restore = false;
  if (echo == Echo::off && ::tcgetattr(STDIN_FILENO, &saved) == 0) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;  // the Enter still moves to a new line
    restore = ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
  }
  std::fwrite(label.data(), 1, label.size(), stderr);
  std::fflush(stderr);
  std::string line;
  bool ended = false;
  for (;;) {
    char c = 0;
    ssize_t n = ::read(STDIN_FILENO, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ended = true;
      break;
    }
    if (c == '\n') break;
    line += c;
    if (line.size() > 64 * 1024) break;
  }
  if (restore) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);  // keeps what is typed after the Enter
  if (ended && line.empty()) return fail(ErrorKind::usage, "no answer (stdin ended)");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace sbpipe

#include "secureboot/kernel_cmdline.h"

#include <cctype>

namespace sbpipe {
namespace {

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// One parameter starting at `at` (not a space): its raw text up to the first
// whitespace outside quotes.
std::string_view next_raw(std::string_view text, size_t& at) {
  size_t start = at;
  bool in_quote = false;
  for (; at < text.size(); ++at) {
    if (is_space(text[at]) && !in_quote) break;
    if (text[at] == '"') in_quote = !in_quote;
  }
  return text.substr(start, at - start);
}

// The kernel's reading of one raw parameter: a leading quote opens a quoted
// parameter (its closing quote dropped); the value's own quotes are dropped.
KernelParam split_param(std::string_view raw) {
  bool quoted = !raw.empty() && raw.front() == '"';
  if (quoted) raw.remove_prefix(1);
  KernelParam p;
  size_t eq = raw.find('=');
  if (eq == std::string_view::npos) {
    if (quoted && !raw.empty() && raw.back() == '"') raw.remove_suffix(1);
    p.key = std::string(raw);
    return p;
  }
  p.key = std::string(raw.substr(0, eq));
  std::string_view value = raw.substr(eq + 1);
  bool value_quoted = !value.empty() && value.front() == '"';
  if (value_quoted) value.remove_prefix(1);
  if ((value_quoted || quoted) && !value.empty() && value.back() == '"') value.remove_suffix(1);
  p.value = std::string(value);
  p.has_value = true;
  return p;
}

}  // namespace

KernelCmdline parse_kernel_cmdline(std::string_view section) {
  KernelCmdline out;
  size_t nul = section.find('\0');
  if (nul != std::string_view::npos) {
    for (size_t i = nul; i < section.size(); ++i)
      if (section[i] != '\0') out.truncated_at_nul = true;
    section = section.substr(0, nul);
  }
  out.has_quotes = section.find('"') != std::string_view::npos;
  size_t at = 0;
  bool to_init = false;
  while (true) {
    while (at < section.size() && is_space(section[at])) ++at;
    if (at >= section.size()) break;
    std::string_view raw = next_raw(section, at);
    if (to_init) {
      out.init_args.emplace_back(raw);
      continue;
    }
    KernelParam p = split_param(raw);
    if (!p.has_value && p.key == "--") {
      to_init = true;
      continue;
    }
    out.params.push_back(std::move(p));
  }
  return out;
}

std::string kernel_arg_problem(std::string_view arg) {
  if (arg.find('\0') != std::string_view::npos) return "holds a NUL byte, where the kernel command line ends";
  if (arg.find('"') != std::string_view::npos) return "holds a double quote, which the kernel strips (so it reads another value)";
  if (arg == "--") return "is \"--\", after which every argument goes to init, not the kernel";
  return "";
}

}  // namespace sbpipe

#pragma once
// The kernel command line as the boot chain reads it, not as text: what
// systemd-stub hands over and how the kernel splits it into parameters.
//
// - systemd-stub converts `.cmdline` only up to its first NUL byte;
// - the kernel splits parameters on whitespace outside double quotes, drops
//   one pair of quotes around a whole parameter or around its value
//   (`"a=b"` and `a="b"` both set a to b), and hands everything after a bare
//   `--` to init as init's own arguments (Linux lib/cmdline.c next_arg and
//   kernel/params.c parse_args, as documented in
//   Documentation/admin-guide/kernel-parameters.rst).

#include <string>
#include <string_view>
#include <vector>

namespace sbpipe {

struct KernelParam {
  std::string key;
  std::string value;  // empty with has_value false for a bare word
  bool has_value = false;
  // "key=value" or "key": the form the cmdline policy compares against.
  std::string word() const { return has_value ? key + "=" + value : key; }
};

struct KernelCmdline {
  std::vector<KernelParam> params;     // what the kernel parses, in order
  std::vector<std::string> init_args;  // after "--": init's, not the kernel's
  bool truncated_at_nul = false;       // something followed a NUL byte
  bool has_quotes = false;
};

// Parses the bytes of a `.cmdline` section. Never fails.
KernelCmdline parse_kernel_cmdline(std::string_view section);

// Why a kernel argument given to imager would be read differently by the
// kernel than by a person (quotes, a NUL, a bare "--"); empty when fine.
std::string kernel_arg_problem(std::string_view arg);

}  // namespace sbpipe

#include "release/ipxe.h"

#include <algorithm>

namespace sbpipe {
namespace {

// iPXE reads a command line word by word: ${name} expands a setting, and
// quotes and backslashes are taken as themselves or as syntax depending on
// the build. A kernel argument holding any of them would not reach the
// kernel as published, so it is refused rather than escaped.
bool ipxe_safe(char c) {
  auto u = static_cast<unsigned char>(c);
  return u >= 0x21 && u < 0x7f && c != '$' && c != '"' && c != '\'' && c != '\\';
}

bool relative_name(const std::string& name) {
  return !name.empty() && name.front() != '/' && name.front() != '.' && std::all_of(name.begin(), name.end(), ipxe_safe) &&
         name.find("://") == std::string::npos;
}

}  // namespace

Result<std::string> ipxe_script(const IpxeBoot& boot) {
  for (const std::string* name : {&boot.kernel, &boot.initrd})
    if (!relative_name(*name))
      return fail(ErrorKind::invalid_input, "iPXE script: '" + *name + "' is not a plain relative file name");
  std::string cmdline = boot.cmdline;
  while (!cmdline.empty() && (cmdline.back() == '\n' || cmdline.back() == ' ')) cmdline.pop_back();
  std::string words;
  size_t start = 0;
  while (start < cmdline.size()) {
    size_t end = cmdline.find(' ', start);
    if (end == std::string::npos) end = cmdline.size();
    std::string word = cmdline.substr(start, end - start);
    start = end + 1;
    if (word.empty()) continue;
    if (!std::all_of(word.begin(), word.end(), ipxe_safe))
      return fail(ErrorKind::invalid_input, "iPXE script: the kernel argument '" + word +
                                                "' holds a character iPXE would not pass on as written ($, a quote, a "
                                                "backslash or a control character)");
    words += " " + word;
  }
  std::string title = boot.title;
  std::replace_if(
      title.begin(), title.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return "#!ipxe\n# " + title + ": the kernel, initramfs and command line published beside this script\n" + "kernel " +
         boot.kernel + " initrd=" + boot.initrd + words + "\n" + "initrd " + boot.initrd + "\n" + "boot\n";
}

}  // namespace sbpipe

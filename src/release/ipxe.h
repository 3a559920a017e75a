#pragma once
// The iPXE script a release publishes per architecture (metal-<arch>.ipxe):
// it boots the kernel, initramfs and kernel command line published beside
// it. The names are relative, so iPXE fetches them from wherever the script
// itself came from (iPXE resolves a relative URI against the script's own
// URI): the GitHub release, or any mirror of its assets.

#include <string>

#include "core/error.h"

namespace sbpipe {

struct IpxeBoot {
  std::string title;    // a comment line: "Talos v1.13.0 for amd64"
  std::string kernel;   // the kernel's asset name
  std::string initrd;   // the initramfs's asset name
  std::string cmdline;  // the kernel command line, one line
};

// The script. The initramfs is named twice: by `initrd`, and by an
// `initrd=NAME` word on the kernel line, which is how iPXE builds before
// 2021 hand it to a kernel started through UEFI (Debian 12's 1.0.0+git-2019
// ipxe.efi among them). invalid_input naming the word for a command line
// iPXE would read differently: a '$' (iPXE expands ${...} settings), a quote,
// a backslash, a control character or more than one line; and for names
// that are not plain relative file names.
Result<std::string> ipxe_script(const IpxeBoot& boot);

}  // namespace sbpipe

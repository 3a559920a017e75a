// sbpipe pxe-extract ISO --out DIR [--arch A]

#include <CLI/CLI.hpp>

#include "cli/app.h"
#include "cli/output.h"
#include "iso/pxe.h"

namespace sbpipe {

void add_pxe_extract(CLI::App& app, CommandAction& action) {
  struct Flags {
    std::string iso;
    std::string out;
    std::string arch = "amd64";
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("pxe-extract", "Extract the PXE kernel and initramfs from a Talos ISO");
  cmd->add_option("ISO", flags->iso, "The plain (non-SecureBoot) Talos ISO")->required();
  cmd->add_option("--out", flags->out, "Directory to write vmlinuz-<arch> and initramfs-<arch>.xz into")->required();
  cmd->add_option("--arch", flags->arch, "Architecture suffix of the file names: amd64 or arm64")->capture_default_str();
  cmd->callback([flags, &action] {
    action = [flags]() -> Status {
      auto files = extract_pxe_assets(flags->iso, flags->out, flags->arch);
      if (!files) return fail(files.error());
      for (const auto& file : *files) print_result_line(file.path.string());
      return {};
    };
  });
}

}  // namespace sbpipe

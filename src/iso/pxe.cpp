#include "iso/pxe.h"

#include <spdlog/spdlog.h>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <system_error>

#include "core/file.h"
#include "core/progress.h"
#include "core/temp_dir.h"
#include "iso/archive_walker.h"

namespace sbpipe {

Result<std::vector<PxeFile>> extract_pxe_assets(const std::filesystem::path& iso, const std::filesystem::path& out_dir,
                                                const std::string& arch) {
  if (arch != "amd64" && arch != "arm64") return fail(ErrorKind::usage, "--arch '" + arch + "': expected amd64 or arm64");
  std::error_code ec;
  if (!std::filesystem::is_regular_file(iso, ec)) return fail(ErrorKind::not_found, iso.string() + ": no such file");
  std::filesystem::create_directories(out_dir, ec);
  if (ec) return fail(ErrorKind::io, out_dir.string() + ": cannot create: " + ec.message());

  // ISO member → file name in OUT.
  const std::map<std::string, std::string> wanted{{"boot/vmlinuz", "vmlinuz-" + arch},
                                                  {"boot/initramfs.xz", "initramfs-" + arch + ".xz"}};
  auto source = file_opener(iso)();
  if (!source) return fail(source.error());
  auto walker = ArchiveWalker::open(std::move(*source), ArchiveFormat::iso9660, iso.string());
  if (!walker) return fail(walker.error());

  // Members are staged in OUT (same file system, so the final renames are
  // atomic) and renamed only once every one was found.
  auto staging = ScratchDir::create_in(out_dir, ".sbpipe-pxe");
  if (!staging) return fail(staging.error());
  std::vector<PxeFile> found;
  bool has_uki = false;
  auto walked = (*walker)->for_each([&](const ArchiveMember& member) -> Status {
    if (member.path.starts_with("EFI/Linux/")) has_uki = true;
    auto it = wanted.find(member.path);
    if (it == wanted.end() || !member.regular) return {};
    if (std::any_of(found.begin(), found.end(), [&](const PxeFile& f) { return f.member == it->first; })) return {};
    auto staged = staging->path() / it->second;
    auto copied = (*walker)->copy_to(staged);
    if (!copied) return fail(copied.error());
    found.push_back(PxeFile{it->first, out_dir / it->second, *copied});
    return {};
  });
  if (!walked) return fail(walked.error());
  std::string missing;
  for (const auto& [member, name] : wanted) {
    bool have = std::any_of(found.begin(), found.end(), [&](const PxeFile& f) { return f.member == member; });
    if (!have) missing += (missing.empty() ? "" : ", ") + member;
  }
  // Talos 1.12+ makes arm64 plain ISOs sd-boot only (siderolabs/talos
  // pkg/imager/profile/output.go, selectBootloader), like SecureBoot ISOs.
  if (!missing.empty() && has_uki)
    return fail(ErrorKind::invalid_input, iso.string() + ": no " + missing +
                                              ": this ISO boots with systemd-boot and a UKI only (a SecureBoot ISO, or a Talos "
                                              "1.12+ arm64 ISO); take the PXE files from imager's kernel and initramfs outputs");
  if (!missing.empty())
    return fail(ErrorKind::invalid_input,
                iso.string() + ": no " + missing + " in this ISO (the PXE assets are in the plain ISO)");
  for (const auto& file : found) {
    auto staged = staging->path() / file.path.filename();
    if (::chmod(staged.c_str(), 0644) != 0 || ::rename(staged.c_str(), file.path.c_str()) != 0)
      return fail(ErrorKind::io, file.path.string() + ": cannot move into place: " + std::strerror(errno));
    spdlog::info("extracted {} → {} ({})", file.member, file.path.string(), format_bytes(file.size));
  }
  return found;
}

}  // namespace sbpipe

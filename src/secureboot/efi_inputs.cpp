#include "secureboot/efi_inputs.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <regex>
#include <set>

#include "core/ascii.h"
#include "core/file.h"
#include "iso/archive_walker.h"
#include "iso/image_fs.h"
#include "oci/image.h"
#include "secureboot/boot_chain.h"

namespace sbpipe {
namespace {

namespace fs = std::filesystem;

enum class InputKind { efi, iso, tar, oci_layout_dir, directory, unknown };

constexpr uint64_t k_iso_magic_at = 0x8001;  // "CD001" of the first volume descriptor
constexpr uint64_t k_tar_magic_at = 257;     // "ustar"

InputKind sniff(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    if (fs::exists(path / "oci-layout", ec) && fs::exists(path / "index.json", ec)) return InputKind::oci_layout_dir;
    return InputKind::directory;
  }
  auto opened = file_opener(path, 0, k_iso_magic_at + 5)();
  if (!opened) return InputKind::unknown;
  std::string head;
  std::string chunk(64 * 1024, '\0');
  while (head.size() < k_iso_magic_at + 5) {
    auto n = (*opened)->read(std::span<char>(chunk.data(), chunk.size()));
    if (!n || *n == 0) break;
    head.append(chunk.data(), *n);
  }
  if (head.size() >= 2 && head[0] == 'M' && head[1] == 'Z') return InputKind::efi;
  if (head.size() >= k_iso_magic_at + 5 && head.compare(k_iso_magic_at, 5, "CD001") == 0) return InputKind::iso;
  if (head.size() >= k_tar_magic_at + 5 && head.compare(k_tar_magic_at, 5, "ustar") == 0) return InputKind::tar;
  return InputKind::unknown;
}

// Extracted copies get numbered names: archive paths never reach the file system.
class Extractor {
public:
  explicit Extractor(const fs::path& scratch) : m_scratch(scratch) {}
  fs::path next_path() { return m_scratch / ("efi-" + std::to_string(++m_count) + ".efi"); }

private:
  fs::path m_scratch;
  int m_count = 0;
};

std::string kind_name(MemberKind k) {
  switch (k) {
  case MemberKind::symlink: return "a symlink";
  case MemberKind::hardlink: return "a hardlink";
  case MemberKind::directory: return "a directory";
  default: return "not a regular file";
  }
}

std::string kind_name(const FsNode& node) {
  if (node.hardlink) return "a hardlink";
  switch (node.kind) {
  case FsKind::symlink: return "a symlink";
  case FsKind::directory: return "a directory";
  case FsKind::regular: return "a regular file";
  default: return "not a regular file";
  }
}

// The boot files of one installer image, judged in the file system its
// layers make where the node unpacks them (iso/image_fs.h): each
// architecture that a layer put under usr/install/ needs its UKI and
// systemd-boot there, as regular files that no symlink leads to.
Status image_boot_files(const LocalImage& image, Extractor& extractor, std::vector<EfiBinary>& out) {
  static const std::regex k_install_entry(R"(/usr/install/([^/]+)(/.*)?)");
  // The boot files of a Talos installer (siderolabs/talos pkg/imager/out.go):
  // imager >= 1.10 building a SecureBoot installer for Talos < 1.10 names the
  // UKI vmlinuz.efi.signed.
  static const std::regex k_boot_path(R"(/usr/install/[^/]+/(vmlinuz\.efi(\.signed)?|systemd-boot\.efi))");
  ImageFs unpacked;
  std::set<std::string> arches;
  auto keep = [&](const std::string& path, MemberKind kind) -> std::optional<fs::path> {
    std::smatch m;
    if (std::regex_match(path, m, k_install_entry)) arches.insert(m[1]);
    if (kind == MemberKind::regular && std::regex_match(path, k_boot_path)) return extractor.next_path();
    return std::nullopt;
  };
  for (const auto& layer : image.layers)
    if (auto st = unpacked.apply(layer, keep); !st) return st;
  auto layout = [&](const std::string& path, std::string problem) {
    out.push_back(EfiBinary{image.label + "!" + path, {}, ExpectedRole::layout, std::move(problem)});
  };
  size_t before = out.size();
  for (const auto& arch : arches) {
    std::string dir = "usr/install/" + arch;
    // A symlink on the way: what the node reads there is not what was checked.
    std::optional<std::string> linked;
    for (const std::string& step : {std::string("usr"), std::string("usr/install"), dir}) {
      const FsNode* node = unpacked.at("/" + step);
      if (node != nullptr && node->kind != FsKind::directory) {
        layout(step,
               "is " + kind_name(*node) + " in the image as it is unpacked: the boot files below it are not what verify checked");
        linked = step;
        break;
      }
    }
    if (linked) continue;
    bool any_boot_file = false, has_uki = false, has_sdboot = false;
    for (const char* name : {"vmlinuz.efi", "vmlinuz.efi.signed", "systemd-boot.efi"}) {
      std::string path = dir + "/" + name;
      const FsNode* node = unpacked.at("/" + path);
      if (node == nullptr) continue;
      any_boot_file = true;
      bool uki = std::string(name).starts_with("vmlinuz");
      (uki ? has_uki : has_sdboot) = true;
      if (node->kind != FsKind::regular || node->hardlink || !node->content || node->content->file.empty()) {
        layout(path, "is " + kind_name(*node) + (node->link_target.empty() ? "" : " to " + node->link_target) +
                         " in the image as it is unpacked; a boot path must be a regular file");
        continue;
      }
      out.push_back(
          EfiBinary{image.label + "!" + path, node->content->file, uki ? ExpectedRole::uki : ExpectedRole::bootloader, {}});
    }
    if (!any_boot_file) continue;  // usr/install/<arch>/ of a plain installer (vmlinuz, initramfs.xz)
    if (!has_uki) layout(dir + "/vmlinuz.efi", "missing in the image as it is unpacked (whited out or removed by a later layer)");
    if (!has_sdboot)
      layout(dir + "/systemd-boot.efi", "missing in the image as it is unpacked (whited out or removed by a later layer)");
  }
  if (out.size() == before)
    return fail(ErrorKind::invalid_input, image.label +
                                              ": no usr/install/<arch>/vmlinuz.efi or systemd-boot.efi in the image "
                                              "(not a SecureBoot installer?)");
  return {};
}

Status from_image(const std::string& input, Extractor& extractor, std::vector<EfiBinary>& out) {
  auto images = load_images(input, LoadOptions{});
  if (!images) return fail(images.error());
  for (const auto& image : *images)
    if (auto st = image_boot_files(image, extractor, out); !st) return st;
  return {};
}

// The role of a file of an ISO 9660 tree: a boot path (boot_chain.h), or
// any other EFI binary (the ESP may hold a copy that an entry names).
std::optional<ExpectedRole> iso_role(const std::string& lower_path) {
  if (auto role = boot_path_role(lower_path)) return role;
  if (lower_path.ends_with(".efi")) return ExpectedRole::any;
  return std::nullopt;
}

// What firmware boots from the image: its boot file systems (boot_chain.h).
// An ISO with UKIs must have one.
Status check_esps(const fs::path& path, const std::map<std::string, EfiBinary>& tree, Extractor& extractor,
                  std::vector<EfiBinary>& out) {
  auto found = gate_boot_file_systems(
      path, tree, [&] { return extractor.next_path(); }, out);
  if (!found) return fail(found.error());
  bool has_uki = std::any_of(tree.begin(), tree.end(), [](const auto& t) { return t.second.expected == ExpectedRole::uki; });
  if (*found == 0 && has_uki)
    out.push_back(EfiBinary{path.string() + "!(EFI system partition)",
                            {},
                            ExpectedRole::layout,
                            "no file system the firmware mounts holds a boot file: firmware boots nothing from this ISO"});
  return {};
}

// A disk image or a bare FAT image (an ESP): every boot file system it holds, all gated.
Status from_disk_image(const fs::path& path, Extractor& extractor, std::vector<EfiBinary>& out) {
  size_t before = out.size();
  auto found = gate_boot_file_systems(
      path, {}, [&] { return extractor.next_path(); }, out);
  if (!found) return fail(found.error());
  if (*found == 0) {
    out.resize(before);
    return fail(ErrorKind::invalid_input, path.string() + ": not an installer image, ISO image, disk image or EFI binary");
  }
  return {};
}

Status from_iso(const fs::path& path, Extractor& extractor, std::vector<EfiBinary>& out) {
  auto source = file_opener(path)();
  if (!source) return fail(source.error());
  auto walker = ArchiveWalker::open(std::move(*source), ArchiveFormat::iso9660, path.string());
  if (!walker) return fail(walker.error());
  size_t before = out.size();
  bool efiboot_img = false;
  std::map<std::string, EfiBinary> tree;
  auto walked = (*walker)->for_each([&](const ArchiveMember& member) -> Status {
    std::string name = ascii_lower(member.path);
    if (name == "efiboot.img") efiboot_img = true;
    auto role = iso_role(name);
    if (!role) return {};
    if (!member.regular) {
      out.push_back(EfiBinary{path.string() + "!" + member.path,
                              {},
                              ExpectedRole::layout,
                              "is " + kind_name(member.kind) + (member.link_target.empty() ? "" : " to " + member.link_target) +
                                  " in the ISO; a boot path must be a regular file"});
      return {};
    }
    fs::path dest = extractor.next_path();
    if (auto copied = (*walker)->copy_to(dest); !copied) return fail(copied.error());
    EfiBinary binary{path.string() + "!" + member.path, dest, *role, {}};
    out.push_back(binary);
    tree[name] = binary;
    return {};
  });
  if (!walked) return walked;
  bool any_binary = std::any_of(out.begin() + static_cast<long>(before), out.end(), [](const EfiBinary& b) {
    return b.expected == ExpectedRole::uki || b.expected == ExpectedRole::bootloader || b.expected == ExpectedRole::layout;
  });
  if (!any_binary && efiboot_img)
    return fail(ErrorKind::invalid_input,
                path.string() +
                    ": its EFI binaries are only inside efiboot.img, as Talos 1.8.0-1.8.2 built SecureBoot "
                    "ISOs (fixed in 1.8.3); build with Talos 1.8.3 or later");
  if (!any_binary) {
    // Nothing in the tree: what the firmware boots from the ISO's file systems is all there is.
    auto found = gate_boot_file_systems(
        path, {}, [&] { return extractor.next_path(); }, out);
    if (!found) return fail(found.error());
    if (*found == 0)
      return fail(ErrorKind::invalid_input, path.string() +
                                                ": no EFI/BOOT/BOOT*.EFI or EFI/Linux/*.efi in the ISO, and no file system "
                                                "the firmware mounts from it holds a boot file");
    return {};
  }
  bool has_uki = std::any_of(tree.begin(), tree.end(), [](const auto& t) { return t.second.expected == ExpectedRole::uki; });
  bool has_db =
      std::any_of(tree.begin(), tree.end(), [](const auto& t) { return t.second.expected == ExpectedRole::signature_database; });
  if (has_uki && !has_db)
    out.push_back(
        EfiBinary{path.string() + "!loader/keys/auto/db.auth",
                  {},
                  ExpectedRole::layout,
                  "missing: systemd-boot has no keys to enrol, and nodes set up from this ISO will not trust its signer"});
  return check_esps(path, tree, extractor, out);
}

Status from_input(const fs::path& path, Extractor& extractor, std::vector<EfiBinary>& out, bool inside_directory) {
  switch (sniff(path)) {
  case InputKind::efi: out.push_back(EfiBinary{path.string(), path, ExpectedRole::any}); return {};
  case InputKind::iso: return from_iso(path, extractor, out);
  case InputKind::tar:
  case InputKind::oci_layout_dir: return from_image(path.string(), extractor, out);
  case InputKind::directory: {
    std::vector<fs::path> entries;
    std::error_code ec;
    for (const auto& entry : fs::recursive_directory_iterator(path, ec))
      if (entry.is_regular_file()) entries.push_back(entry.path());
    if (ec) return fail(ErrorKind::io, path.string() + ": " + ec.message());
    std::sort(entries.begin(), entries.end());
    size_t before = out.size();
    for (const auto& entry : entries)
      if (auto st = from_input(entry, extractor, out, true); !st) return st;
    if (out.size() == before)
      return fail(ErrorKind::invalid_input, path.string() + ": no EFI binary, installer or ISO in the directory");
    return {};
  }
  case InputKind::unknown: break;
  }
  if (inside_directory) return {};  // other files beside the artifacts (checksums, notes)
  std::error_code ec;
  if (!fs::exists(path, ec)) return fail(ErrorKind::not_found, path.string() + ": no such file");
  return from_disk_image(path, extractor, out);
}

}  // namespace

Result<std::string> installer_arch(const LocalImage& image) {
  static const std::regex k_install_dir(R"(/usr/install/([a-z0-9]+)/.*)");
  std::set<std::string> found;
  // Where the layers put things as containerd unpacks them (a name through
  // a symlinked directory lands where the link points).
  ImageFs unpacked;
  auto keep = [&](const std::string& path, MemberKind) -> std::optional<fs::path> {
    std::smatch m;
    if (std::regex_match(path, m, k_install_dir)) found.insert(m[1]);
    return std::nullopt;
  };
  for (const auto& layer : image.layers)
    if (auto st = unpacked.apply(layer, keep); !st) return fail(st.error());
  if (found.size() == 1) return *found.begin();
  if (found.empty())
    return fail(ErrorKind::invalid_input, image.label +
                                              ": the image config names no architecture and no layer holds "
                                              "usr/install/<arch>/; pass --arch");
  return fail(ErrorKind::invalid_input, image.label +
                                            ": the image config names no architecture and its layers hold "
                                            "usr/install/ for several; pass --arch");
}

Result<std::vector<EfiBinary>> installer_boot_files(const LocalImage& image, const fs::path& scratch) {
  Extractor extractor(scratch);
  std::vector<EfiBinary> out;
  if (auto st = image_boot_files(image, extractor, out); !st) return fail(st.error());
  return out;
}

Result<std::vector<EfiBinary>> find_efi_binaries(const std::vector<std::string>& inputs, const fs::path& scratch) {
  Extractor extractor(scratch);
  std::vector<EfiBinary> out;
  for (const auto& input : inputs) {
    size_t before = out.size();
    if (auto st = from_input(input, extractor, out, false); !st) return fail(st.error());
    for (size_t i = before; i < out.size(); ++i) out[i].input = input;
  }
  return out;
}

}  // namespace sbpipe

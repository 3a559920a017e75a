#include "secureboot/efi_inputs.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <regex>
#include <set>

#include "core/file.h"
#include "iso/archive_walker.h"
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

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
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

// The boot files of a Talos installer (siderolabs/talos pkg/imager/out.go):
// imager >= 1.10 building a SecureBoot installer for Talos < 1.10 names the
// UKI vmlinuz.efi.signed.
const std::regex& installer_boot_path() {
  static const std::regex k(R"(usr/install/([^/]+)/(vmlinuz\.efi(\.signed)?|systemd-boot\.efi))");
  return k;
}

// One path of the image's final file system.
struct Node {
  MemberKind kind = MemberKind::other;
  std::string link_target;
  fs::path file;  // boot paths: the extracted copy
};

using View = std::map<std::string, Node>;

// Removes `path` and everything below it.
void erase_tree(View& view, const std::string& path) {
  view.erase(path);
  std::string prefix = path + "/";
  for (auto it = view.lower_bound(prefix); it != view.end() && it->first.starts_with(prefix);) it = view.erase(it);
}

std::string kind_name(MemberKind k) {
  switch (k) {
  case MemberKind::symlink: return "a symlink";
  case MemberKind::hardlink: return "a hardlink";
  case MemberKind::directory: return "a directory";
  default: return "not a regular file";
  }
}

// Applies one layer to `view` as an OCI/overlay unpacker does: its whiteouts
// (".wh.NAME") and opaque markers (".wh..wh..opq") remove what lower layers
// put there, then its entries replace what was at their paths. Boot paths
// are extracted; `arches` collects every architecture seen.
Status apply_layer(const LocalLayer& layer, View& view, Extractor& extractor, std::set<std::string>& arches) {
  static const std::regex k_arch_dir(R"(usr/install/([^/]+)(/.*)?)");
  auto source = layer.open();
  if (!source) return fail(source.error());
  auto walker = ArchiveWalker::open(std::move(*source), ArchiveFormat::tar, layer.label);
  if (!walker) return fail(walker.error());
  std::vector<std::string> removed, opaque;
  std::vector<std::pair<std::string, Node>> added;
  while (true) {
    auto member = (*walker)->next();
    if (!member) return fail(member.error());
    if (!*member) break;
    std::string path = (*member)->path;
    while (!path.empty() && path.back() == '/') path.pop_back();
    if (path.empty()) continue;
    std::smatch m;
    if (std::regex_match(path, m, k_arch_dir)) arches.insert(m[1]);
    auto slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "" : path.substr(0, slash);
    std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    if (base == ".wh..wh..opq") {
      opaque.push_back(dir);
      continue;
    }
    if (base.starts_with(".wh.")) {
      removed.push_back(dir.empty() ? base.substr(4) : dir + "/" + base.substr(4));
      continue;
    }
    Node node{(*member)->kind, (*member)->link_target, {}};
    if (node.kind == MemberKind::regular && std::regex_match(path, installer_boot_path())) {
      node.file = extractor.next_path();
      if (auto copied = (*walker)->copy_to(node.file); !copied) return fail(copied.error());
    }
    added.emplace_back(std::move(path), std::move(node));
  }
  for (const auto& d : opaque) {
    std::string prefix = d.empty() ? "" : d + "/";
    for (auto it = view.lower_bound(prefix); it != view.end() && it->first.starts_with(prefix);) it = view.erase(it);
  }
  for (const auto& r : removed) erase_tree(view, r);
  for (auto& [path, node] : added) {
    if (node.kind != MemberKind::directory) erase_tree(view, path);
    view[path] = std::move(node);
  }
  return {};
}

// The symlinked directory, if any, that `path` lies under in `view`.
std::optional<std::string> symlinked_parent(const View& view, const std::string& path) {
  for (size_t at = path.find('/'); at != std::string::npos; at = path.find('/', at + 1)) {
    auto it = view.find(path.substr(0, at));
    if (it != view.end() && it->second.kind != MemberKind::directory) return it->first;
  }
  return std::nullopt;
}

Status from_image(const std::string& input, Extractor& extractor, std::vector<EfiBinary>& out) {
  auto images = load_images(input, LoadOptions{});
  if (!images) return fail(images.error());
  for (const auto& image : *images) {
    View view;
    std::set<std::string> arches;
    for (const auto& layer : image.layers)
      if (auto st = apply_layer(layer, view, extractor, arches); !st) return st;
    auto layout = [&](const std::string& path, std::string problem) {
      out.push_back(EfiBinary{image.label + "!" + path, {}, ExpectedRole::layout, std::move(problem)});
    };
    size_t found = 0;
    for (const auto& arch : arches) {
      std::string dir = "usr/install/" + arch + "/";
      bool any_boot_file = false;
      for (const char* name : {"vmlinuz.efi", "vmlinuz.efi.signed", "systemd-boot.efi"}) {
        std::string path = dir + name;
        auto it = view.find(path);
        if (auto parent = symlinked_parent(view, path)) {
          layout(*parent, "is " + kind_name(view.at(*parent).kind) +
                              " in the image as it is unpacked: the boot files below it are not what verify checked");
          any_boot_file = true;
          break;
        }
        if (it == view.end()) continue;
        any_boot_file = true;
        if (it->second.kind != MemberKind::regular) {
          layout(path, "is " + kind_name(it->second.kind) +
                           (it->second.link_target.empty() ? "" : " to " + it->second.link_target) +
                           " in the image as it is unpacked; a boot path must be a regular file");
          continue;
        }
        bool uki = std::string(name).starts_with("vmlinuz");
        out.push_back(
            EfiBinary{image.label + "!" + path, it->second.file, uki ? ExpectedRole::uki : ExpectedRole::bootloader, {}});
        ++found;
      }
      if (!any_boot_file) continue;  // usr/install/<arch>/ of a plain installer (vmlinuz, initramfs.xz)
      bool has_uki = view.contains(dir + "vmlinuz.efi") || view.contains(dir + "vmlinuz.efi.signed");
      if (!has_uki && !symlinked_parent(view, dir + "vmlinuz.efi"))
        layout(dir + "vmlinuz.efi", "missing in the image as it is unpacked (whited out or removed by a later layer)");
      if (!view.contains(dir + "systemd-boot.efi") && !symlinked_parent(view, dir + "systemd-boot.efi"))
        layout(dir + "systemd-boot.efi", "missing in the image as it is unpacked (whited out or removed by a later layer)");
    }
    bool any = std::any_of(out.begin(), out.end(), [&](const EfiBinary& b) { return b.display.starts_with(image.label + "!"); });
    if (!any)
      return fail(ErrorKind::invalid_input, image.label +
                                                ": no usr/install/<arch>/vmlinuz.efi or systemd-boot.efi in the image "
                                                "(not a SecureBoot installer?)");
    (void)found;
  }
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
  while (true) {
    auto member = (*walker)->next();
    if (!member) return fail(member.error());
    if (!*member) break;
    std::string name = lower((*member)->path);
    if (name == "efiboot.img") efiboot_img = true;
    auto role = iso_role(name);
    if (!role) continue;
    if (!(*member)->regular) {
      out.push_back(EfiBinary{path.string() + "!" + (*member)->path,
                              {},
                              ExpectedRole::layout,
                              "is " + kind_name((*member)->kind) +
                                  ((*member)->link_target.empty() ? "" : " to " + (*member)->link_target) +
                                  " in the ISO; a boot path must be a regular file"});
      continue;
    }
    fs::path dest = extractor.next_path();
    if (auto copied = (*walker)->copy_to(dest); !copied) return fail(copied.error());
    EfiBinary binary{path.string() + "!" + (*member)->path, dest, *role, {}};
    out.push_back(binary);
    tree[name] = binary;
  }
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
  static const std::regex k_install_dir(R"(usr/install/([a-z0-9]+)/.*)");
  std::set<std::string> found;
  for (const auto& layer : image.layers) {
    auto source = layer.open();
    if (!source) return fail(source.error());
    auto walker = ArchiveWalker::open(std::move(*source), ArchiveFormat::tar, layer.label);
    if (!walker) return fail(walker.error());
    while (true) {
      auto member = (*walker)->next();
      if (!member) return fail(member.error());
      if (!*member) break;
      std::smatch m;
      if (std::regex_match((*member)->path, m, k_install_dir)) found.insert(m[1]);
    }
  }
  if (found.size() == 1) return *found.begin();
  if (found.empty())
    return fail(ErrorKind::invalid_input, image.label +
                                              ": the image config names no architecture and no layer holds "
                                              "usr/install/<arch>/; pass --arch");
  return fail(ErrorKind::invalid_input, image.label +
                                            ": the image config names no architecture and its layers hold "
                                            "usr/install/ for several; pass --arch");
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

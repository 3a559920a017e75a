#include "secureboot/efi_inputs.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <regex>
#include <set>

#include "core/file.h"
#include "iso/archive_walker.h"
#include "oci/image.h"

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

Status from_image(const std::string& input, Extractor& extractor, std::vector<EfiBinary>& out) {
  // imager >= 1.10 building a SecureBoot installer for Talos < 1.10 names the
  // UKI vmlinuz.efi.signed (siderolabs/talos pkg/imager/out.go, outInstaller).
  static const std::regex k_installer_efi(R"(usr/install/[^/]+/(vmlinuz\.efi(\.signed)?|systemd-boot\.efi))");
  auto images = load_images(input, LoadOptions{});
  if (!images) return fail(images.error());
  for (const auto& image : *images) {
    // A later layer's file replaces an earlier layer's of the same path.
    std::map<std::string, EfiBinary> found;
    for (const auto& layer : image.layers) {
      auto source = layer.open();
      if (!source) return fail(source.error());
      auto walker = ArchiveWalker::open(std::move(*source), ArchiveFormat::tar, layer.label);
      if (!walker) return fail(walker.error());
      while (true) {
        auto member = (*walker)->next();
        if (!member) return fail(member.error());
        if (!*member) break;
        if (!(*member)->regular || !std::regex_match((*member)->path, k_installer_efi)) continue;
        fs::path dest = extractor.next_path();
        if (auto copied = (*walker)->copy_to(dest); !copied) return fail(copied.error());
        auto& slot = found[(*member)->path];
        if (!slot.file.empty()) fs::remove(slot.file);
        bool uki = (*member)->path.find("/vmlinuz.efi") != std::string::npos;
        slot = EfiBinary{image.label + "!" + (*member)->path, dest, uki ? ExpectedRole::uki : ExpectedRole::bootloader};
      }
    }
    if (found.empty())
      return fail(ErrorKind::invalid_input, image.label +
                                                ": no usr/install/<arch>/vmlinuz.efi or systemd-boot.efi in the image "
                                                "(not a SecureBoot installer?)");
    for (auto& [path, binary] : found) out.push_back(std::move(binary));
  }
  return {};
}

Status from_iso(const fs::path& path, Extractor& extractor, std::vector<EfiBinary>& out) {
  static const std::regex k_bootloader(R"(efi/boot/boot[^/]*\.efi)");
  static const std::regex k_uki(R"(efi/linux/[^/]+\.efi)");
  static const std::regex k_db(R"(loader/keys/[^/]+/db\.auth)");
  auto source = file_opener(path)();
  if (!source) return fail(source.error());
  auto walker = ArchiveWalker::open(std::move(*source), ArchiveFormat::iso9660, path.string());
  if (!walker) return fail(walker.error());
  size_t before = out.size();
  bool efiboot_img = false;
  while (true) {
    auto member = (*walker)->next();
    if (!member) return fail(member.error());
    if (!*member) break;
    if (!(*member)->regular) continue;
    std::string name = lower((*member)->path);
    if (name == "efiboot.img") efiboot_img = true;
    ExpectedRole role;
    if (std::regex_match(name, k_uki))
      role = ExpectedRole::uki;
    else if (std::regex_match(name, k_bootloader))
      role = ExpectedRole::bootloader;
    else if (std::regex_match(name, k_db))
      role = ExpectedRole::signature_database;
    else
      continue;
    fs::path dest = extractor.next_path();
    if (auto copied = (*walker)->copy_to(dest); !copied) return fail(copied.error());
    out.push_back(EfiBinary{path.string() + "!" + (*member)->path, dest, role});
  }
  bool any_binary = std::any_of(out.begin() + static_cast<long>(before), out.end(),
                                [](const EfiBinary& b) { return b.expected != ExpectedRole::signature_database; });
  if (!any_binary && efiboot_img)
    return fail(ErrorKind::invalid_input, path.string() +
                                              ": its EFI binaries are only inside efiboot.img, as Talos 1.8.0-1.8.2 built SecureBoot "
                                              "ISOs (fixed in 1.8.3); build with Talos 1.8.3 or later");
  if (!any_binary)
    return fail(ErrorKind::invalid_input, path.string() + ": no EFI/BOOT/BOOT*.EFI or EFI/Linux/*.efi in the ISO");
  return {};
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
      if (out.size() == before) return fail(ErrorKind::invalid_input, path.string() + ": no EFI binary, installer or ISO in the directory");
      return {};
    }
    case InputKind::unknown: break;
  }
  if (inside_directory) return {};  // other files beside the artifacts (checksums, notes)
  std::error_code ec;
  if (!fs::exists(path, ec)) return fail(ErrorKind::not_found, path.string() + ": no such file");
  return fail(ErrorKind::invalid_input, path.string() + ": not an installer image, ISO image or EFI binary");
}

} // namespace

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
    return fail(ErrorKind::invalid_input, image.label + ": the image config names no architecture and no layer holds "
                                                        "usr/install/<arch>/; pass --arch");
  return fail(ErrorKind::invalid_input, image.label + ": the image config names no architecture and its layers hold "
                                                      "usr/install/ for several; pass --arch");
}

Result<std::vector<EfiBinary>> find_efi_binaries(const std::vector<std::string>& inputs, const fs::path& scratch) {
  Extractor extractor(scratch);
  std::vector<EfiBinary> out;
  for (const auto& input : inputs)
    if (auto st = from_input(input, extractor, out, false); !st) return fail(st.error());
  return out;
}

} // namespace sbpipe

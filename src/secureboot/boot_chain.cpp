#include "secureboot/boot_chain.h"

#include <algorithm>
#include <cctype>
#include <regex>
#include <set>

#include "core/ascii.h"
#include "core/file.h"
#include "core/random_access.h"
#include "core/sha256.h"
#include "iso/esp.h"
#include "iso/fat.h"

namespace sbpipe {
namespace {

namespace fs = std::filesystem;

constexpr size_t k_max_entry_file = 64 * 1024;

std::string file_sha256(const fs::path& path) {
  auto opened = file_opener(path)();
  if (!opened) return "";
  Sha256 hash;
  std::string chunk(1 << 20, '\0');
  while (true) {
    auto n = (*opened)->read(std::span<char>(chunk.data(), chunk.size()));
    if (!n || *n == 0) break;
    hash.update(std::span<const char>(chunk.data(), *n));
  }
  return hash.finish_hex();
}

// A file the boot chain can load, and why sbpipe looked at it.
struct Loadable {
  FatFile file;
  ExpectedRole role = ExpectedRole::any;
};

bool ends_with_efi(const FatFile& f) {
  return std::any_of(f.spellings.begin(), f.spellings.end(),
                     [](const std::string& s) { return ascii_lower(s).ends_with(".efi"); });
}

bool same_entry(const FatFile& a, const FatFile& b) {
  return a.path == b.path && a.first_cluster == b.first_cluster && a.size == b.size;
}

// The names BmBoot.c tries on removable media (EFI_REMOVABLE_MEDIA_FILE_NAME per
// architecture, MdePkg/Include/Uefi/UefiSpec.h).
constexpr const char* k_fallback_names[] = {"BOOTX64.EFI", "BOOTAA64.EFI",    "BOOTIA32.EFI",
                                            "BOOTARM.EFI", "BOOTRISCV64.EFI", "BOOTLOONGARCH64.EFI"};

// The `efi` and `linux` paths of a Type #1 entry (systemd src/boot/efi/boot.c
// line_get_key_value: a key, whitespace, the rest of the line).
std::vector<std::pair<std::string, std::string>> entry_images(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    std::string line = text.substr(at, end == std::string::npos ? std::string::npos : end - at);
    at = end == std::string::npos ? text.size() : end + 1;
    size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos || line[b] == '#') continue;
    size_t k = line.find_first_of(" \t", b);
    if (k == std::string::npos) continue;
    std::string key = line.substr(b, k - b);
    size_t v = line.find_first_not_of(" \t", k);
    if (v == std::string::npos) continue;
    std::string value = line.substr(v);
    while (!value.empty() && (value.back() == '\r' || value.back() == ' ' || value.back() == '\t')) value.pop_back();
    if (key == "efi" || key == "linux") out.emplace_back(key, value);
  }
  return out;
}

}  // namespace

std::optional<ExpectedRole> boot_path_role(const std::string& lower_path) {
  static const std::regex k_bootloader(R"(efi/boot/boot[^/]*\.efi)");
  static const std::regex k_uki(R"(efi/linux/[^/]+\.efi)");
  static const std::regex k_db(R"(loader/keys/[^/]+/db\.auth)");
  if (std::regex_match(lower_path, k_uki)) return ExpectedRole::uki;
  if (std::regex_match(lower_path, k_bootloader)) return ExpectedRole::bootloader;
  if (std::regex_match(lower_path, k_db)) return ExpectedRole::signature_database;
  return std::nullopt;
}

Result<size_t> gate_boot_file_systems(const fs::path& image, const std::map<std::string, EfiBinary>& tree,
                                      const std::function<fs::path()>& next_path, std::vector<EfiBinary>& out) {
  auto file = open_random_access(image);
  if (!file) return fail(file.error());
  const std::string label = image.string();
  auto layout = [&](const std::string& where, std::string problem, std::string note = {}) {
    out.push_back(EfiBinary{label + "!" + where, {}, ExpectedRole::layout, std::move(problem), std::move(note)});
  };
  auto places = find_firmware_partitions(**file);
  if (!places) return fail(places.error());
  size_t boot_file_systems = 0;
  std::set<uint64_t> mounted;
  for (const auto& place : *places) {
    if (mounted.contains(place.offset)) continue;  // one FAT file system, reached through two tables
    std::string where = "ESP(" + place.source + ")";
    auto volume = FatVolume::open(**file, place.offset, place.size, label + "!" + where);
    if (!volume) {
      if (volume.error().kind() == ErrorKind::not_found) continue;  // the firmware mounts nothing there
      mounted.insert(place.offset);
      ++boot_file_systems;
      layout(where, volume.error().message() + "; what firmware boots cannot be checked, so verify fails");
      continue;
    }
    mounted.insert(place.offset);
    auto cant_read = [&](const Error& e) {
      ++boot_file_systems;
      layout(where, e.message() + "; what firmware boots cannot be checked, so verify fails");
    };
    auto files = volume->files();
    if (!files) {
      cant_read(files.error());
      continue;
    }
    std::vector<Loadable> found;
    // `f` as files() lists it (with every spelling), at `role`; a later, more specific role wins.
    auto add = [&](const FatFile& f, ExpectedRole role) {
      for (auto& l : found)
        if (same_entry(l.file, f)) {
          if (l.role == ExpectedRole::any) l.role = role;
          return;
        }
      auto listed = std::find_if(files->begin(), files->end(), [&](const FatFile& g) { return same_entry(g, f); });
      found.push_back({listed != files->end() ? *listed : f, role});
    };
    bool unreadable = false;
    auto lookup = [&](const std::string& path) -> std::optional<FatFile> {
      auto hit = volume->find(path);
      if (!hit) {
        cant_read(hit.error());
        unreadable = true;
        return std::nullopt;
      }
      if (!*hit || (*hit)->directory) return std::nullopt;
      return **hit;
    };
    // The firmware's fallback, looked up as FatPkg looks names up.
    for (const char* name : k_fallback_names)
      if (auto f = lookup(std::string("EFI/BOOT/") + name)) add(*f, ExpectedRole::bootloader);
    // systemd-boot's Type #2 entries: what \EFI\Linux lists with a .efi name.
    auto linux_dir = volume->list("EFI/Linux");
    if (!linux_dir) {
      cant_read(linux_dir.error());
      continue;
    }
    for (const auto& f : *linux_dir)
      if (!f.directory && ascii_lower(f.path).ends_with(".efi")) add(f, ExpectedRole::uki);
    // The db systemd-boot enrols from loader/keys/<name>/.
    auto key_dirs = volume->list("loader/keys");
    if (!key_dirs) {
      cant_read(key_dirs.error());
      continue;
    }
    for (const auto& d : *key_dirs)
      if (d.directory)
        if (auto f = lookup(d.path + "/db.auth")) add(*f, ExpectedRole::signature_database);
    // systemd-boot's Type #1 entries name images anywhere on the partition.
    auto entries = volume->list("loader/entries");
    if (!entries) {
      cant_read(entries.error());
      continue;
    }
    for (const auto& e : *entries) {
      if (e.directory || !ascii_lower(e.path).ends_with(".conf")) continue;
      auto text = volume->read(e, k_max_entry_file);
      if (!text) {
        layout(where + "/" + e.path, text.error().message() + "; the images it names cannot be found, so verify fails");
        unreadable = true;
        continue;
      }
      for (const auto& [key, path] : entry_images(*text))
        if (auto f = lookup(path)) add(*f, key == "linux" ? ExpectedRole::uki : ExpectedRole::any);
    }
    // Anything else an entry, a boot variable or an addon may load.
    for (const auto& f : *files)
      if (ends_with_efi(f)) add(f, ExpectedRole::any);
    if (found.empty() && !unreadable) continue;  // no boot file system
    ++boot_file_systems;
    std::set<std::string> seen;
    size_t before = out.size(), same = 0;
    for (const auto& l : found) {
      fs::path dest = next_path();
      if (auto st = volume->copy(l.file, dest); !st) {
        layout(where + "/" + l.file.path, st.error().message());
        continue;
      }
      const EfiBinary* in_tree = nullptr;
      for (const auto& s : l.file.spellings)
        if (auto it = tree.find(ascii_lower(s)); it != tree.end()) {
          in_tree = &it->second;
          seen.insert(it->first);
          break;
        }
      if (in_tree != nullptr && file_sha256(in_tree->file) == file_sha256(dest)) {
        fs::remove(dest);
        ++same;
        continue;  // the same bytes: the tree's verdict holds for what firmware boots
      }
      out.push_back(EfiBinary{label + "!" + where + "/" + l.file.path, dest, l.role, {}});
      if (!tree.empty())
        layout(where + "/" + l.file.path,
               in_tree == nullptr ? "is not among the ISO 9660 tree's boot files: firmware can load what the tree does not show"
                                  : "differs from the ISO 9660 tree's copy: firmware boots this one");
    }
    for (const auto& [name, binary] : tree)
      if (!seen.contains(name))
        layout(where + "/" + binary.display.substr(binary.display.rfind('!') + 1),
               "missing from the EFI system partition that firmware boots (only in the ISO 9660 tree)");
    if (out.size() == before)
      layout(where, {}, "what firmware boots: the same " + std::to_string(same) + " boot files as the ISO 9660 tree");
  }
  return boot_file_systems;
}

}  // namespace sbpipe

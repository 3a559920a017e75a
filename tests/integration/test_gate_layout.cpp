// The gate judges what a node boots, not a copy beside it (issue 19, findings
// F1, F2, F3, F12, F13 of the adversarial review, with their recipes R4 and
// R5): installer layers applied as containerd applies them, and an ISO's EFI
// system partition read as firmware reads it.

#include <doctest/doctest.h>

#include "integration/push_helpers.h"
#include "support/secureboot_fixtures.h"

namespace sbpipe::test {
namespace {

struct Binaries {
  TempDir tmp;
  KeyPair keys;
  fs::path uki, sdboot, unsigned_uki, unsigned_sdboot;
  Binaries() {
    keys = make_key_pair(tmp.path(), "uki", "Layout Owner");
    unsigned_uki = tmp / "uki-unsigned.efi";
    build_uki(unsigned_uki, UkiSpec{}, tmp / "build");
    uki = tmp / "uki.efi";
    sbsign(unsigned_uki, uki, keys);
    sdboot = tmp / "sdboot.efi";
    sbsign(k_systemd_boot, sdboot, keys);
    unsigned_sdboot = k_systemd_boot;
  }
};

Binaries& binaries() {
  static Binaries b;
  return b;
}

// True when one report line names `path` (a suffix of its path column) and
// ends in `verdict`.
bool has_line(const std::string& report, const std::string& path, const std::string& verdict) {
  size_t at = 0;
  while (at < report.size()) {
    size_t end = report.find('\n', at);
    std::string line = report.substr(at, end == std::string::npos ? std::string::npos : end - at);
    auto col = line.find("  ");
    if (col != std::string::npos && line.substr(0, col).ends_with(path) && line.find(verdict) != std::string::npos) return true;
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return false;
}

RunResult verify(const fs::path& input) { return sbpipe({"verify", input.string(), "--cert", binaries().keys.cert.string()}); }

// An ISO whose tree holds `tree` and whose appended EFI partition (also its
// El Torito UEFI image, as imager makes it) holds `esp`: {path, file}.
fs::path make_iso(const fs::path& dir, const std::string& name, const std::vector<std::pair<std::string, fs::path>>& tree,
                  const std::vector<std::pair<std::string, fs::path>>& esp, bool with_esp = true) {
  fs::path root = dir / (name + "-tree"), esp_root = dir / (name + "-esp");
  for (const auto& [path, file] : tree) {
    fs::create_directories((root / path).parent_path());
    fs::copy_file(file, root / path, fs::copy_options::overwrite_existing);
  }
  for (const auto& [path, file] : esp) {
    fs::create_directories((esp_root / path).parent_path());
    fs::copy_file(file, esp_root / path, fs::copy_options::overwrite_existing);
  }
  fs::path iso = dir / (name + ".iso");
  std::vector<std::string> argv{"xorriso", "-as", "mkisofs", "-quiet", "-R", "-V", "TALOS"};
  if (with_esp) {
    fs::path img = dir / (name + "-efiboot.img");
    must_run({"truncate", "-s", "34M", img.string()});
    must_run({"mkfs.vfat", "-F", "32", "-n", "EFI", img.string()});
    std::vector<std::string> mcopy{"mcopy", "-s", "-Q", "-i", img.string()};
    if (fs::exists(esp_root))
      for (const auto& top : fs::directory_iterator(esp_root)) mcopy.push_back(top.path().string());
    mcopy.push_back("::");
    if (mcopy.size() > 6) must_run(mcopy);
    argv.insert(argv.end(),
                {"-e", "--interval:appended_partition_2:all::", "-append_partition", "2", "0xef", img.string(),
                 // imager's layout (siderolabs/talos pkg/imager/iso/uefi.go): the ISO volume then spans the
                 // appended partition, so the El Torito entry (sector count 0 for an image over 32 MiB) is the
                 // whole partition to EDK2's ElTorito.c, and not empty
                 "-partition_cyl_align", "all", "-partition_offset", "16", "-iso_mbr_part_type", "0x83", "-no-emul-boot"});
  }
  argv.insert(argv.end(), {"-o", iso.string(), root.string()});
  must_run(argv);
  return iso;
}

}  // namespace

TEST_SUITE("integration") {

TEST_CASE("verify: an installer is judged as containerd unpacks it (F1, F2, F12)") {
  auto& b = binaries();
  TempDir dir;
  must_run({"/usr/bin/python3", test_support_dir() + "/hostile_installers.py", dir.path().string(), b.uki.string(),
            b.sdboot.string(), b.unsigned_uki.string()});
  auto good = verify(dir / "good.tar");
  CHECK_MESSAGE(good.exit_code == 0, good.out << good.err);
  struct Case {
    const char* file;
    const char* path;
    const char* message;
  };
  const std::string unpacked = " in the image as it is unpacked";
  for (const Case& c :
       {Case{"hardlink.tar", "!usr/install/amd64/vmlinuz.efi",
             "FAIL  is a hardlink to evil.efi in the image as it is unpacked; a boot path must be a regular file"},
        Case{"symlink_later.tar", "!usr/install/amd64/vmlinuz.efi",
             "FAIL  is a symlink to /evil.efi in the image as it is unpacked"},
        Case{"hardlink_later.tar", "!usr/install/amd64/vmlinuz.efi",
             "FAIL  is a hardlink to evil.efi in the image as it is unpacked"},
        Case{"dirsymlink_later.tar", "!usr/install/amd64",
             "FAIL  is a symlink in the image as it is unpacked: the boot files below it are not what verify checked"},
        Case{"whiteout_later.tar", "!usr/install/amd64/vmlinuz.efi",
             "FAIL  missing in the image as it is unpacked (whited out or removed by a later layer)"},
        Case{"opaque_later.tar", "!usr/install/amd64/vmlinuz.efi", "FAIL  missing in the image as it is unpacked"}}) {
    auto r = verify(dir / c.file);
    CHECK_MESSAGE(r.exit_code == 1, c.file << ": " << r.out);
    CHECK_MESSAGE(has_line(r.out, c.path, c.message), c.file << ": " << r.out);
  }
}

TEST_CASE("verify: an ISO is judged by the EFI system partition firmware boots (F3, F13)") {
  auto& b = binaries();
  TempDir dir;
  write_enrolment(dir.path(), {b.keys.cert});
  std::vector<std::pair<std::string, fs::path>> signed_set{
      {"EFI/BOOT/BOOTX64.EFI", b.sdboot}, {"EFI/Linux/Talos-v1.13.0.efi", b.uki}, {"loader/keys/auto/db.auth", dir / "db.auth"}};

  SUBCASE("the same boot files in tree and partition pass, and the report says so") {
    auto r = verify(make_iso(dir.path(), "good", signed_set, signed_set));
    CHECK_MESSAGE(r.exit_code == 0, r.out << r.err);
    CHECK(r.out.find("!ESP(El Torito entry 1)") != std::string::npos);
    CHECK(r.out.find("ok    what firmware boots: the same 3 boot files as the ISO 9660 tree") != std::string::npos);
  }
  SUBCASE("a signed tree over an unsigned EFI partition fails, and the partition's binaries are gated") {
    auto esp = signed_set;
    esp[0].second = b.unsigned_sdboot;
    esp[1].second = b.unsigned_uki;
    auto r = verify(make_iso(dir.path(), "mismatch", signed_set, esp));
    CHECK(r.exit_code == 1);
    CHECK(has_line(r.out, "ESP(El Torito entry 1)/EFI/BOOT/BOOTX64.EFI",
                   "esp           FAIL  differs from the ISO 9660 tree's copy: firmware boots this one"));
    CHECK(r.out.find("ESP(El Torito entry 1)/EFI/Linux/Talos-v1.13.0.efi") != std::string::npos);
    CHECK(r.out.find("FAIL  unsigned") != std::string::npos);
  }
  SUBCASE("what a Type #1 entry names is gated wherever it is and whatever its name (systemd-boot loads it)") {
    // loader/entries/*.conf's `efi` and `linux` lines (systemd src/boot/efi/boot.c, line_get_key_value):
    // neither file ends in .efi nor lies on a boot path, so only the entry leads to them.
    write_file(dir / "tools.conf", "title Tools\n# efi /not/this.bin\n  efi   /tools/shell.bin  \r\n");
    write_file(dir / "talos.conf", "title Talos\nlinux /kernels/vmlinuz\noptions talos.platform=metal\n");
    // The signed set, the two entries, and the files they name.
    auto with_entries = [&](const fs::path& shell, const fs::path& kernel) {
      auto files = signed_set;
      files.insert(files.end(), {{"loader/entries/tools.conf", dir / "tools.conf"},
                                 {"loader/entries/talos.conf", dir / "talos.conf"},
                                 {"tools/shell.bin", shell},
                                 {"kernels/vmlinuz", kernel}});
      return files;
    };
    auto unsigned_entries = with_entries(b.unsigned_sdboot, b.unsigned_uki);
    auto r = verify(make_iso(dir.path(), "entries", unsigned_entries, unsigned_entries));
    CHECK(r.exit_code == 1);
    CHECK_MESSAGE(has_line(r.out, "ESP(El Torito entry 1)/tools/shell.bin", "FAIL  unsigned"), r.out);
    CHECK_MESSAGE(has_line(r.out, "ESP(El Torito entry 1)/kernels/vmlinuz", "FAIL  unsigned"), r.out);
    CHECK(r.out.find("not/this.bin") == std::string::npos);  // a comment names nothing
    // Signed, they pass the signature check, and still fail: a Talos ISO's partition holds the
    // tree's boot files and nothing else, so a loadable extra is refused, not published.
    auto signed_entries = with_entries(b.sdboot, b.uki);
    auto extra = verify(make_iso(dir.path(), "entries-signed", signed_entries, signed_entries));
    CHECK(extra.exit_code == 1);
    CHECK_MESSAGE(has_line(extra.out, "ESP(El Torito entry 1)/kernels/vmlinuz", "uki           ok    signed by"), extra.out);
    CHECK(has_line(extra.out, "ESP(El Torito entry 1)/tools/shell.bin",
                   "esp           FAIL  is not among the ISO 9660 tree's boot files: firmware can load what the tree does "
                   "not show"));
  }
  SUBCASE("a boot file missing from the partition, and an ISO with no EFI partition at all") {
    auto r = verify(make_iso(dir.path(), "partial", signed_set, {signed_set[0], signed_set[2]}));
    CHECK(r.exit_code == 1);
    CHECK(has_line(r.out, "ESP(El Torito entry 1)/EFI/Linux/Talos-v1.13.0.efi",
                   "FAIL  missing from the EFI system partition that firmware boots (only in the ISO 9660 tree)"));
    auto none = verify(make_iso(dir.path(), "none", signed_set, {}, false));
    CHECK(none.exit_code == 1);
    CHECK(none.out.find("no file system the firmware mounts holds a boot file: firmware boots nothing from this ISO") !=
          std::string::npos);
  }
  SUBCASE("an EFI partition that is no FAT file system the firmware mounts: the ISO boots nothing, and fails") {
    fs::path iso_root = dir / "junk-tree";
    for (const auto& [path, file] : signed_set) {
      fs::create_directories((iso_root / path).parent_path());
      fs::copy_file(file, iso_root / path);
    }
    write_file(dir / "junk.img", random_bytes(1 << 20, 5));
    must_run({"xorriso", "-as", "mkisofs", "-quiet", "-R", "-e", "--interval:appended_partition_2:all::", "-append_partition",
              "2", "0xef", (dir / "junk.img").string(), "-no-emul-boot", "-o", (dir / "junk.iso").string(), iso_root.string()});
    auto r = verify(dir / "junk.iso");
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("no file system the firmware mounts holds a boot file: firmware boots nothing from this ISO") !=
          std::string::npos);
  }
  SUBCASE("a symlinked BOOTX64.EFI and a SecureBoot ISO without db.auth fail (F13)") {
    fs::path root = dir / "sym-tree";
    fs::create_directories(root / "EFI" / "BOOT");
    fs::create_directories(root / "EFI" / "Linux");
    fs::copy_file(b.unsigned_sdboot, root / "unsigned.efi");
    fs::create_symlink("../../unsigned.efi", root / "EFI" / "BOOT" / "BOOTX64.EFI");
    fs::copy_file(b.uki, root / "EFI" / "Linux" / "Talos-v1.13.0.efi");
    must_run({"xorriso", "-as", "mkisofs", "-quiet", "-R", "-o", (dir / "sym.iso").string(), root.string()});
    auto r = verify(dir / "sym.iso");
    CHECK(r.exit_code == 1);
    CHECK(has_line(r.out, "!EFI/BOOT/BOOTX64.EFI",
                   "FAIL  is a symlink to ../../unsigned.efi in the ISO; a boot path must be a regular file"));
    CHECK(has_line(r.out, "!loader/keys/auto/db.auth", "FAIL  missing: systemd-boot has no keys to enrol"));
  }
}

}  // TEST_SUITE("integration")

}  // namespace sbpipe::test

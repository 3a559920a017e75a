// sbpipe pxe-extract on ISO images built by xorriso in the test.

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "integration/push_helpers.h"
#include "support/secureboot_fixtures.h"

namespace sbpipe::test {
namespace fs = std::filesystem;

namespace {

struct PxeIso {
  TempDir dir;
  std::string kernel = random_bytes(3 << 20, 11);
  std::string initramfs = random_bytes(5 << 20, 12);
  fs::path staging() const { return dir / "staging"; }

  fs::path build(const std::string& name, const std::vector<std::string>& extra = {}) {
    fs::create_directories(staging() / "boot");
    write_file(staging() / "boot" / "vmlinuz", kernel);
    write_file(staging() / "boot" / "initramfs.xz", initramfs);
    auto out = dir / name;
    std::vector<std::string> argv{"xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-V", "TALOS", "-o", out.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(staging().string());
    must_run(argv);
    return out;
  }
};

std::vector<std::string> listing(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_SUITE("integration") {

TEST_CASE("pxe-extract writes vmlinuz-<arch> and initramfs-<arch>.xz byte for byte") {
  PxeIso iso;
  auto image = iso.build("metal-amd64.iso");
  auto out = iso.dir / "out";
  auto r = sbpipe({"pxe-extract", image.string(), "--out", out.string()});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out == (out / "initramfs-amd64.xz").string() + "\n" + (out / "vmlinuz-amd64").string() + "\n");
  CHECK(read_file(out / "vmlinuz-amd64") == iso.kernel);
  CHECK(read_file(out / "initramfs-amd64.xz") == iso.initramfs);
  CHECK(listing(out) == std::vector<std::string>{"initramfs-amd64.xz", "vmlinuz-amd64"});  // no staging left
  CHECK((fs::status(out / "vmlinuz-amd64").permissions() & fs::perms::others_read) != fs::perms::none);

  // Again, over older files and for arm64 names: replaced, not appended.
  write_file(out / "vmlinuz-arm64", "old");
  auto again = sbpipe({"pxe-extract", image.string(), "--out", out.string(), "--arch", "arm64"});
  REQUIRE_MESSAGE(again.exit_code == 0, again.err);
  CHECK(read_file(out / "vmlinuz-arm64") == iso.kernel);
}

TEST_CASE("pxe-extract reads a hybrid ISO with an appended EFI partition") {
  PxeIso iso;
  write_file(iso.dir / "efi.img", random_bytes(1 << 20, 13));
  auto image = iso.build("hybrid.iso", {"-append_partition", "2", "0xef", (iso.dir / "efi.img").string()});
  auto out = iso.dir / "out";
  auto r = sbpipe({"pxe-extract", image.string(), "--out", out.string()});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(read_file(out / "vmlinuz-amd64") == iso.kernel);
  CHECK(read_file(out / "initramfs-amd64.xz") == iso.initramfs);
}

TEST_CASE("pxe-extract: a SecureBoot ISO, a non-ISO and a bad --arch are clear errors that write nothing") {
  TempDir dir;
  fs::create_directories(dir / "sb" / "EFI" / "BOOT");
  write_file(dir / "sb" / "EFI" / "BOOT" / "BOOTX64.EFI", random_bytes(4096, 1));
  write_iso(dir / "secureboot.iso", dir / "sb");
  auto out = dir / "out";
  auto sb = sbpipe({"pxe-extract", (dir / "secureboot.iso").string(), "--out", out.string()});
  CHECK(sb.exit_code == 1);
  CHECK(sb.err.find((dir / "secureboot.iso").string() + ": no boot/initramfs.xz, boot/vmlinuz in this ISO (the PXE assets are in "
                                                        "the plain ISO)") != std::string::npos);
  CHECK(listing(out).empty());

  write_file(dir / "junk.iso", random_bytes(200000, 2));
  auto junk = sbpipe({"pxe-extract", (dir / "junk.iso").string(), "--out", out.string()});
  CHECK(junk.exit_code == 1);
  CHECK(junk.err.find((dir / "junk.iso").string()) != std::string::npos);
  CHECK(listing(out).empty());

  auto arch = sbpipe({"pxe-extract", (dir / "junk.iso").string(), "--out", out.string(), "--arch", "riscv"});
  CHECK(arch.exit_code == 2);
  CHECK(arch.err.find("--arch 'riscv': expected amd64 or arm64") != std::string::npos);

  auto missing = sbpipe({"pxe-extract", (dir / "nope.iso").string(), "--out", out.string()});
  CHECK(missing.exit_code == 1);
  CHECK(missing.err.find("nope.iso: no such file") != std::string::npos);
}

}  // TEST_SUITE("integration")

}  // namespace sbpipe::test

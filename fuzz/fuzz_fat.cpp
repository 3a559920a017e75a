// libFuzzer target: the partition finder (GPT and its backup, El Torito,
// MBR, nested) and the FAT12/16/32 reader, on arbitrary bytes: the boot
// chain's lookups run, and every file the reader lists is copied out, so
// every chain it follows is walked.
// Built by scripts/fuzz (CMake option SBPIPE_FUZZ).

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/random_access.h"
#include "iso/esp.h"
#include "iso/fat.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sbpipe;
  MemoryRandomAccess file(std::string_view(reinterpret_cast<const char*>(data), size));
  std::vector<EspLocation> places{{0, size, "whole input"}};
  if (auto found = find_firmware_partitions(file)) places.insert(places.end(), found->begin(), found->end());
  static const std::string dest = std::filesystem::temp_directory_path() / ("sbpipe-fuzz-fat-" + std::to_string(::getpid()));
  for (const auto& place : places) {
    if (!range_fits(place.offset, 0, size)) __builtin_trap();  // the locator reports only places inside the image
    auto volume = FatVolume::open(file, place.offset, place.size, "fuzz");
    if (!volume) continue;
    if (!range_fits(place.offset, volume->byte_size(), size)) __builtin_trap();
    // The lookups the boot chain makes (boot_chain.h), on whatever the image holds.
    (void)volume->find("EFI/BOOT/BOOTX64.EFI");
    (void)volume->list("loader/entries");
    (void)volume->list("EFI/Linux");
    auto files = volume->files();
    if (!files) continue;
    for (size_t i = 0; i < files->size() && i < 8; ++i) {
      (void)volume->copy((*files)[i], dest);
      ::unlink(dest.c_str());
    }
  }
  return 0;
}

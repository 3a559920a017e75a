// libFuzzer target: the PE/COFF parser, the certificate table walk, the
// Authenticode ranges and the SpcIndirectDataContent/PKCS#7 checks, on
// arbitrary bytes. Built by scripts/fuzz (CMake option SBPIPE_FUZZ).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/random_access.h"
#include "secureboot/authenticode.h"
#include "secureboot/pe.h"
#include "secureboot/uki.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sbpipe;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  MemoryRandomAccess file(bytes);
  auto image = parse_pe(file);
  if (!image) return 0;
  uint64_t covered = 0;
  for (const auto& range : authenticode_ranges(*image)) {
    // Every range the hasher will read must lie inside the file.
    if (!range_fits(range.offset, range.length, size)) __builtin_trap();
    covered += range.length;
  }
  (void)covered;
  (void)read_uki(file, *image);
  auto certs = read_certificates(file, *image);
  if (certs)
    for (const auto& cert : *certs) (void)parse_indirect_data(cert.data);
  (void)check_authenticode(file, *image, {});
  return 0;
}

// libFuzzer target: the PE/COFF parser (EDK2's header and section rules),
// the certificate table walk, the Authenticode ranges and the PKCS#7 checks,
// on arbitrary bytes. Built by scripts/fuzz (CMake option SBPIPE_FUZZ).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/random_access.h"
#include "secureboot/authenticode.h"
#include "secureboot/cert_table.h"
#include "secureboot/pe.h"
#include "secureboot/signature_db.h"
#include "secureboot/uki.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sbpipe;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  MemoryRandomAccess file(bytes);
  auto image = parse_pe(file);
  if (!image) return 0;
  if (auto ranges = authenticode_ranges(*image)) {
    // Every range the hasher will read must lie inside the file.
    for (const auto& range : *ranges)
      if (!range_fits(range.offset, range.length, size)) __builtin_trap();
  }
  (void)read_uki(file, *image);
  auto table = read_certificate_table(file, *image);
  if (table) {
    uint64_t table_end = uint64_t{image->cert_table_offset} + image->cert_table_size;
    for (const auto& cert : table->entries) {
      // Every entry and its AuthData lie inside the certificate table.
      if (cert.offset < image->cert_table_offset || cert.offset + cert.length > table_end) __builtin_trap();
      if (cert.pkcs7 && (cert.data_offset < cert.offset || cert.data_offset + cert.data_size > cert.offset + cert.length))
        __builtin_trap();
      if (cert.pkcs7)
        if (auto der = read_auth_data(file, cert, 1 << 20); der && der->size() > cert.data_size) __builtin_trap();
    }
  }
  auto report = check_authenticode(file, *image, {});
  // Once more trusting the signatures' own signers, so that the PKCS#7
  // verification runs on whatever they hold.
  if (report) {
    SignatureDatabase signers;
    for (const auto& s : report->signatures)
      if (!s.signer_der.empty()) signers.certificates.push_back(s.signer_der);
    if (!signers.empty()) (void)check_authenticode(file, *image, signers, &signers);  // also as a dbx
  }
  return 0;
}

// libFuzzer target: EFI_SIGNATURE_LIST and EFI_VARIABLE_AUTHENTICATION_2
// parsing (PK.auth, KEK.auth, db.auth), and the db/dbx files verify takes
// (signature_db.h), on arbitrary bytes.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "secureboot/siglist.h"
#include "secureboot/signature_db.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sbpipe;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto lists = parse_signature_lists(bytes);
  if (lists)
    for (const auto& list : *lists)
      for (const auto& entry : list.entries)
        if (entry.data.size() > size) __builtin_trap();
  (void)parse_auth_variable(bytes);
  if (auto db = parse_signature_database(bytes, "fuzz"))
    for (const auto& d : db->image_digests)
      if (d.digest.size() > 64) __builtin_trap();
  return 0;
}

// libFuzzer target: EFI_SIGNATURE_LIST and EFI_VARIABLE_AUTHENTICATION_2
// parsing (PK.auth, KEK.auth, db.auth) on arbitrary bytes.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "secureboot/siglist.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sbpipe;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto lists = parse_signature_lists(bytes);
  if (lists)
    for (const auto& list : *lists)
      for (const auto& entry : list.entries)
        if (entry.data.size() > size) __builtin_trap();
  (void)parse_auth_variable(bytes);
  return 0;
}

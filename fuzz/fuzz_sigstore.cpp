// libFuzzer target: what a registry or a config file hands the keyless
// check (sigstore/): a sigstore bundle, its transparency-log entries and
// their bodies, cosign's Rekor bundle annotation, a trusted_root.json, and
// a certificate (SANs, issuer extension, embedded SCTs), on arbitrary bytes.
// The first byte picks the parser.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "sigstore/bundle.h"
#include "sigstore/certificate.h"
#include "sigstore/tlog_entry.h"
#include "sigstore/trusted_root.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sbpipe;
  if (size == 0) return 0;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
  case 0:
    if (auto bundle = parse_bundle(bytes))
      for (const auto& j : bundle->tlog_entries)
        if (auto entry = parse_tlog_entry(j)) {
          (void)read_entry_body(*entry);
          (void)signed_entry_timestamp_payload(*entry);
          if (entry->inclusion_proof)
            (void)rfc6962_root_from_path(rfc6962_leaf_hash(entry->body), entry->inclusion_proof->log_index,
                                         entry->inclusion_proof->tree_size, entry->inclusion_proof->hashes);
        }
    break;
  case 1:
    if (auto entry = parse_cosign_rekor_bundle(bytes)) (void)read_entry_body(*entry);
    break;
  case 2: (void)parse_trusted_root(bytes, "fuzz"); break;
  default:
    if (auto cert = Certificate::parse_der(bytes, "fuzz")) {
      (void)cert->subject_alternative_names();
      (void)cert->oidc_issuer();
      (void)cert->public_key();
      (void)embedded_scts(*cert, *cert);
    }
  }
  return 0;
}

#pragma once
// The SecureBoot gate: one verdict per EFI binary. A binary passes when its
// Authenticode signature chains to the trusted certificate and, for a UKI,
// in every boot profile its command line has every required word and none
// of the forbidden ones and its signed PCR 11 policy is the one the boot
// will produce, by the UKI's own PCR key (pcr_policy.h); and, when asked,
// its .pcrpkey is the given PCR public key.

#include <optional>
#include <string>
#include <vector>

#include "secureboot/efi_inputs.h"
#include "secureboot/pcr_policy.h"

namespace sbpipe {

struct VerifyOptions {
  std::vector<std::string> trusted;  // DER certificates
  std::vector<std::string> require_cmdline{"lockdown=integrity"};
  std::vector<std::string> forbid_cmdline{"lockdown=confidentiality"};
  std::optional<std::string> pcr_public_key;  // PEM
};

// One boot profile of a UKI ("" for a UKI without profiles).
struct ProfileVerdict {
  std::string id;
  std::string cmdline;
  PolicyVerdict pcr11;  // the signed PCR 11 policy, with the predicted values
};

struct Verdict {
  std::string path;
  std::string role;  // "uki", "systemd-boot", "efi"
  bool ok = false;
  std::string reason;  // why it failed, or what passed
  std::string machine;
  std::string sha256;  // Authenticode SHA-256
  std::string signer;
  std::string signer_der;  // the passing signature's signer certificate
  std::optional<std::string> pcrpkey;  // UKIs: the PEM of .pcrpkey
  std::optional<std::string> cmdline;  // the first profile's
  std::vector<ProfileVerdict> profiles;  // UKIs: every boot profile, each gated
  std::optional<std::string> os_version;
  bool has_pcrsig = false;
  bool has_pcrpkey = false;
};

// Checks one binary. Never fails: malformed or unreadable files are
// verdicts with ok == false and the reason.
Verdict verify_binary(const EfiBinary& binary, const VerifyOptions& options);

} // namespace sbpipe

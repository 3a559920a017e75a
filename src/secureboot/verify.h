#pragma once
// The SecureBoot gate: one verdict per EFI binary, in two parts.
//   - The signature verdict is the firmware's: would UEFI firmware whose db
//     holds the trusted certificates start this image (authenticode.h,
//     EDK2's rules)?
//   - The policy verdict is sbpipe's own: for a UKI, in every boot profile
//     the command line has every required word and none of the forbidden
//     ones, its signed PCR 11 policy is the one the boot will produce, by
//     the UKI's own PCR key (pcr_policy.h), and, when asked, its .pcrpkey is
//     the given PCR public key; for every binary, the named policies that
//     are stricter than the firmware (docs/boot.md): `sha1-signature` (the
//     firmware accepts SHA-1 Authenticode, sbpipe does not), `rsa-signer`
//     (imager signs with RSA; other key types are refused) and `mz-header`
//     (systemd-boot and systemd-stub find their sections through it).
// A binary passes when both do.

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
  std::string role;    // "uki", "systemd-boot", "efi"
  bool ok = false;     // signature_ok and no policy problem
  std::string reason;  // why it failed, or what passed
  bool signature_ok = false;
  std::string signature_reason;     // the firmware's verdict: "signed by ...", or why it would refuse
  std::vector<std::string> policy;  // policy problems (cmdline, PCR policy, named policies)
  std::string machine;
  std::string sha256;  // Authenticode SHA-256
  std::string signer;
  std::string signer_der;                // the passing signature's signer certificate
  std::optional<std::string> pcrpkey;    // UKIs: the PEM of .pcrpkey
  std::optional<std::string> cmdline;    // the first profile's
  std::vector<ProfileVerdict> profiles;  // UKIs: every boot profile, each gated
  std::optional<std::string> os_version;
  bool has_pcrsig = false;
  bool has_pcrpkey = false;
};

// Checks one binary. Never fails: malformed or unreadable files are
// verdicts with ok == false and the reason.
Verdict verify_binary(const EfiBinary& binary, const VerifyOptions& options);

}  // namespace sbpipe

#pragma once
// The SecureBoot gate: one verdict per EFI binary, in two parts.
//   - The signature verdict is the firmware's: would UEFI firmware with this
//     db (and dbx) start this image (authenticode.h, EDK2's rules)? The db
//     is the one the user gives (--db, or --cert as a db of those
//     certificates), or for an ISO without one, the db it enrols
//     (loader/keys/auto/db.auth).
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
#include "secureboot/signature_db.h"

namespace sbpipe {

struct VerifyOptions {
  std::optional<SignatureDatabase> db;  // nullopt: each ISO's own loader/keys/auto/db.auth
  std::optional<SignatureDatabase> dbx;
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
  std::string role;      // "uki", "systemd-boot", "efi"
  std::string expected;  // what its place says it is: "uki", "bootloader" (the firmware's fallback), "db", "any", "layout"
  bool ok = false;       // signature_ok and no policy problem
  std::string reason;    // why it failed, or what passed
  bool signature_ok = false;
  std::string signature_reason;     // the firmware's verdict: "signed by ...", or why it would refuse
  std::vector<std::string> policy;  // policy problems (cmdline, PCR policy, named policies)
  std::string machine;
  std::string sha256;  // Authenticode SHA-256
  std::string signer;
  std::string signer_der;                // the passing signature's signer certificate
  std::string anchor_der;                // the db certificate that allowed it (empty: a digest did, or none)
  std::string anchor_digest;             // the db image digest that allowed it, raw
  std::optional<std::string> pcrpkey;    // UKIs: the PEM of .pcrpkey
  std::optional<std::string> cmdline;    // the first profile's
  std::vector<ProfileVerdict> profiles;  // UKIs: every boot profile, each gated
  std::optional<std::string> os_version;
  bool has_pcrsig = false;
  bool has_pcrpkey = false;
};

// Checks one binary against `db` and `dbx` (nullptr: none). Never fails:
// malformed or unreadable files are verdicts with ok == false and the
// reason. A signature database (an ISO's db.auth) is parsed and its line
// says what it holds; verify_binaries judges it against the others.
Verdict verify_binary(const EfiBinary& binary, const VerifyOptions& options, const SignatureDatabase& db,
                      const SignatureDatabase* dbx);

// Every binary, in order (each file's digests spread over the cores:
// digest_pass.h). Each is judged by
// options.db, or when that is unset by the db its ISO enrols; an ISO's
// db.auth must allow every binary of the ISO that passed (what a node
// enrolled from it will run). usage error when a binary has no db to be
// judged by (no --db/--cert and no db.auth in its input).
Result<std::vector<Verdict>> verify_binaries(const std::vector<EfiBinary>& binaries, const VerifyOptions& options);

}  // namespace sbpipe

#pragma once
// The signed PCR 11 policy of a UKI profile, checked the way a Talos node
// will use it to unseal its disk (siderolabs/talos internal/pkg/secureboot/
// tpm2/unseal.go): the `.pcrsig` JSON must hold, for each bank it lists
// (sha256 at least, the one nodes use), an entry for PCR 11 whose policy is
// the TPM2 PolicyPCR digest of the PCR 11 value the boot will produce, whose
// key fingerprint is `.pcrpkey`'s, and whose signature verifies under
// `.pcrpkey`.
//
// The PCR 11 value is predicted as systemd-stub measures a UKI: for each
// section present, in the stub's fixed order (.linux .osrel .cmdline .initrd
// .ucode .splash .dtb .uname .sbat .pcrpkey .profile .dtbauto .hwids; never
// .pcrsig), extend with H(name + NUL) then H(content), the content being the
// section's VirtualSize bytes as loaded (zeros past its raw data); then the
// phases Talos extends: enter-initrd and leave-initrd unsigned,
// enter-machined signed (internal/pkg/secureboot/secureboot.go).

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "secureboot/uki.h"

namespace sbpipe {

// The banks `.pcrsig` may carry (Talos writes all three; sha1 is never written).
inline const std::vector<std::string> k_pcr_banks{"sha256", "sha384", "sha512"};

// PCR 11 after each phase, hex, for one bank.
struct PcrPrediction {
  std::string bank;
  std::string enter_initrd;
  std::string leave_initrd;
  std::string enter_machined;  // the value the signed policy covers
};

struct PolicyVerdict {
  bool ok = false;
  std::vector<std::string> problems;     // each "<bank>: what differs"
  std::vector<PcrPrediction> predicted;  // every bank of k_pcr_banks
  std::vector<std::string> banks;        // the banks `.pcrsig` carries
};

// Content digests of sections, by bank, so several profiles sharing a
// section (the kernel, the initrd) read it once. fill() may run on several
// threads at once, each for other banks (verify hashes banks beside the
// Authenticode digest); of() computes what fill() did not.
class SectionDigests {
public:
  explicit SectionDigests(const RandomAccess& file) : m_file(file) {}
  // H_bank(content) of `section`, raw bytes. io/invalid_input when unreadable.
  Result<std::string> of(const PeSection& section, const std::string& bank);
  // Computes `banks` for every section of `sections`, one read per section.
  Status fill(const std::vector<const PeSection*>& sections, const std::vector<std::string>& banks);
  // Records a digest computed elsewhere (digest_pass.h).
  void set(const PeSection* section, const std::string& bank, std::string digest);

private:
  const RandomAccess& m_file;
  std::mutex m_mutex;
  std::map<const PeSection*, std::map<std::string, std::string>> m_digests;
};

// The sections a UKI's profiles measure (each once), for SectionDigests::fill.
std::vector<const PeSection*> measured_sections(const UkiInfo& uki);

// PCR 11 as the stub and Talos extend it for `profile`.
Result<std::vector<PcrPrediction>> predict_pcr11(const UkiProfile& profile, SectionDigests& digests);

// The TPM2 PolicyPCR digest (a SHA-256 policy session) over PCR 11 of
// `bank` holding `pcr_value` (raw bytes).
std::string policy_pcr_digest(const std::string& bank, const std::string& pcr_value);

// Checks `profile`'s `.pcrsig` against its sections and `pcrpkey_pem`.
// Never fails: a problem of the UKI is a verdict; only an unreadable file is
// an error.
Result<PolicyVerdict> check_pcr_policy(const RandomAccess& file, const UkiProfile& profile,
                                       const std::optional<std::string>& pcrpkey_pem, SectionDigests& digests);

// SHA-256 of the PKCS#1 DER form of a PEM RSA public key, hex: `pkfp` as
// Talos writes it. invalid_input when the PEM is no RSA public key.
Result<std::string> pcr_key_fingerprint(const std::string& pem);

}  // namespace sbpipe

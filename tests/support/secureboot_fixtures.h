#pragma once
// SecureBoot fixtures made by the tests with the real tools: OpenSSL keys
// and certificates (PKCS#1 RSA, as talosctl makes them), UKIs built from
// Debian's systemd-boot stub with objcopy, signatures by sbsign, ISO images
// by xorriso, and enrolment files by efitools. Nothing here is committed.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace sbpipe::test {

namespace fs = std::filesystem;

inline const fs::path k_stub = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub";
inline const fs::path k_systemd_boot = "/usr/lib/systemd/boot/efi/systemd-bootx64.efi";

// Runs a command; throws with its stderr when it fails.
std::string must_run(const std::vector<std::string>& argv);

// A self-signed certificate and its PKCS#1 RSA key: key.pem, cert.pem.
struct KeyPair {
  fs::path key;
  fs::path cert;
};
KeyPair make_key_pair(const fs::path& dir, const std::string& name, const std::string& cn, int bits = 2048, int days = 365);

// A certificate for a new key, issued by `ca`.
KeyPair make_issued_pair(const fs::path& dir, const std::string& name, const std::string& cn, const KeyPair& ca);

struct UkiSpec {
  std::string cmdline = "talos.platform=metal console=ttyS0 lockdown=integrity";
  std::string version = "v1.9.0";
  // The PCR signing key (PKCS#1 PEM) for .pcrpkey and .pcrsig; empty: one
  // test key shared by the whole test run (default_pcr_key()).
  fs::path pcr_key;
  bool pcr_policy = true;             // false: no .pcrpkey and no .pcrsig
  fs::path pcrsig_key;                // signs .pcrsig instead of pcr_key (another PCR key)
  std::optional<std::string> pcrsig;  // .pcrsig as given (a stale or edited one)
  size_t kernel_bytes = 400000;
  size_t initrd_bytes = 300000;
};
// An unsigned UKI at `out`; with `pcr_policy`, its `.pcrpkey` and a `.pcrsig`
// computed by the Talos model (scripts/talos_model/pcr.py, the way Talos
// computes it), not by sbpipe.
void build_uki(const fs::path& out, const UkiSpec& spec, const fs::path& scratch);

// The PCR signing key test UKIs use unless they name another (made once).
const fs::path& default_pcr_key();

// The PEM public half of a PCR signing key, written beside it (`<key>.pub`).
fs::path public_half(const fs::path& key);

// The `.pcrsig` the Talos model computes for a profile-less UKI file.
std::string model_pcrsig(const fs::path& uki, const fs::path& pcr_key);

// sbsign `in` into `out` with the pair.
void sbsign(const fs::path& in, const fs::path& out, const KeyPair& keys);

// true when `sbverify --cert cert file` accepts the file.
bool sbverify_accepts(const fs::path& file, const fs::path& cert);

// A docker-save installer tarball whose last layer holds vmlinuz.efi and
// systemd-boot.efi under usr/install/<arch>/.
void write_installer(const fs::path& out, const fs::path& uki, const fs::path& sdboot, const std::string& arch, bool gzip);

// An ISO 9660 image (xorriso) of a staging directory; its EFI/ and loader/
// also in an appended EFI system partition that is the El Torito UEFI image,
// as imager makes SecureBoot ISOs.
void write_iso(const fs::path& out, const fs::path& staging);

// Writes PK/KEK/db key pairs and PK.auth, KEK.auth, db.auth (efitools) into
// `dir`; db holds `db_certs`.
void write_enrolment(const fs::path& dir, const std::vector<fs::path>& db_certs);

// The PKCS#7 certificates of a signed EFI binary's first signature, one PEM
// file each (openssl pkcs7 -print_certs), in the order OpenSSL prints them.
std::vector<fs::path> embedded_certificates(const fs::path& efi, const fs::path& dir);

}  // namespace sbpipe::test

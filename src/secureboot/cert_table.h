#pragma once
// The attribute certificate table of a signed PE image, walked as EDK2's
// DxeImageVerificationHandler walks it (SecurityPkg/Library/
// DxeImageVerificationLib/DxeImageVerificationLib.c, edk2-stable202211):
// entries from the table's offset, each dwLength long plus the padding to
// 8 bytes, which must lie inside the table too. The walk stops at the
// first entry that does not fit, and unless it ends exactly at the table's
// end the firmware refuses the image, whatever its signatures.
//
// Entries the firmware verifies: WIN_CERT_TYPE_PKCS_SIGNED_DATA, and
// WIN_CERT_TYPE_EFI_GUID whose CertType is EFI_CERT_TYPE_PKCS7_GUID; both
// hold DER PKCS#7 SignedData (AuthData). Other types are skipped. wRevision
// is not looked at.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "secureboot/pe.h"

namespace sbpipe {

inline constexpr uint16_t k_win_cert_type_pkcs_signed_data = 0x0002;
inline constexpr uint16_t k_win_cert_type_efi_guid = 0x0EF1;

struct WinCertificate {
  uint64_t offset = 0;       // file offset of the entry
  uint32_t length = 0;       // dwLength
  uint16_t revision = 0;     // wRevision (0x0200 for WIN_CERT_REVISION_2_0; not checked)
  uint16_t type = 0;         // wCertificateType
  bool pkcs7 = false;        // the firmware verifies it
  std::string skipped;       // why the firmware skips it, when !pkcs7
  uint64_t data_offset = 0;  // AuthData: the PKCS#7 SignedData
  uint64_t data_size = 0;
};

struct CertificateTable {
  std::vector<WinCertificate> entries;  // in table order (at most k_max_entries)
  size_t entry_count = 0;               // all entries walked
  std::string incomplete;               // non-empty: the walk stopped before the table's end, and why
};

// At most this many entries are kept (the walk goes on and counts).
inline constexpr size_t k_max_kept_entries = 64;

// Walks the table of a signed image (an empty table for an unsigned one).
// The Result fails only when the file cannot be read.
Result<CertificateTable> read_certificate_table(const RandomAccess& file, const PeImage& image);

// The leading DER element of an entry's AuthData: what OpenSSL's d2i_PKCS7
// reads of it (bytes after it are ignored by the firmware). Empty when
// AuthData does not start with a definite-length element. invalid_input
// when that element is longer than `max_bytes`.
Result<std::string> read_auth_data(const RandomAccess& file, const WinCertificate& entry, size_t max_bytes);

}  // namespace sbpipe

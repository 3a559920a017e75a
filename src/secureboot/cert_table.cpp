#include "secureboot/cert_table.h"

#include <array>
#include <cstring>

#include "core/bytes.h"

namespace sbpipe {
namespace {

constexpr uint32_t k_win_certificate_header = 8;  // sizeof (WIN_CERTIFICATE)
constexpr uint32_t k_uefi_guid_header = 8 + 16;   // OFFSET_OF (WIN_CERTIFICATE_UEFI_GUID, CertData)
// EFI_CERT_TYPE_PKCS7_GUID {0x4aafd29d, 0x68df, 0x49ee, {0x8a, 0xa9, 0x34, 0x7d, 0x37, 0x56, 0x65, 0xa7}}
// as it lies in memory (MdePkg/Include/Guid/WinCertificate.h).
constexpr std::array<unsigned char, 16> k_pkcs7_guid{0x9d, 0xd2, 0xaf, 0x4a, 0xdf, 0x68, 0xee, 0x49,
                                                     0x8a, 0xa9, 0x34, 0x7d, 0x37, 0x56, 0x65, 0xa7};

// ALIGN_SIZE in DxeImageVerificationLib.h: the padding to 8 bytes.
uint32_t align_size(uint32_t length) { return length % 8 ? 8 - length % 8 : 0; }

}  // namespace

// DxeImageVerificationHandler's loop over the certificate table, condition
// by condition; a `break` there is a stop here, a `continue` a skipped entry.
Result<CertificateTable> read_certificate_table(const RandomAccess& file, const PeImage& image) {
  CertificateTable table;
  if (!image.is_signed()) return table;
  // parse_pe checked that offset + size neither overflows nor leaves the file.
  const uint32_t end = image.cert_table_offset + image.cert_table_size;
  uint32_t offset = image.cert_table_offset;
  auto stop = [&](std::string why) { table.incomplete = std::move(why); };
  while (offset < end) {
    uint32_t left = end - offset;
    if (left <= k_win_certificate_header) {
      stop(std::to_string(left) + " bytes after the last WIN_CERTIFICATE");
      break;
    }
    std::array<unsigned char, k_uefi_guid_header> header{};
    size_t want = std::min<size_t>(header.size(), left);
    if (auto st = file.read_at(offset, std::span<char>(reinterpret_cast<char*>(header.data()), want)); !st)
      return fail(st.error());
    WinCertificate cert;
    cert.offset = offset;
    cert.length = le32(header.data());
    cert.revision = le16(header.data() + 4);
    cert.type = le16(header.data() + 6);
    if (left < cert.length || left - cert.length < align_size(cert.length)) {
      stop("a WIN_CERTIFICATE (dwLength " + std::to_string(cert.length) + ") and its padding to 8 bytes do not fit in the table");
      break;
    }
    if (cert.type == k_win_cert_type_pkcs_signed_data) {
      if (cert.length <= k_win_certificate_header) {
        stop("a WIN_CERTIFICATE_EFI_PKCS with no signature data");
        break;
      }
      cert.pkcs7 = true;
      cert.data_offset = uint64_t{offset} + k_win_certificate_header;
      cert.data_size = cert.length - k_win_certificate_header;
    } else if (cert.type == k_win_cert_type_efi_guid) {
      if (cert.length <= k_uefi_guid_header) {
        stop("a WIN_CERTIFICATE_UEFI_GUID with no signature data");
        break;
      }
      if (std::memcmp(header.data() + 8, k_pkcs7_guid.data(), k_pkcs7_guid.size()) != 0) {
        cert.skipped = "WIN_CERTIFICATE_UEFI_GUID whose CertType is not EFI_CERT_TYPE_PKCS7_GUID";
      } else {
        cert.pkcs7 = true;
        cert.data_offset = uint64_t{offset} + k_uefi_guid_header;
        cert.data_size = cert.length - k_uefi_guid_header;
      }
    } else {
      if (cert.length < k_win_certificate_header) {
        stop("a WIN_CERTIFICATE shorter than its header");
        break;
      }
      cert.skipped = "wCertificateType " + std::to_string(cert.type) + " is neither PKCS#7 signed data nor a UEFI GUID entry";
    }
    if (table.entries.size() < k_max_kept_entries) table.entries.push_back(std::move(cert));
    ++table.entry_count;
    // The loop's increment; the checks above keep it inside the table.
    offset += le32(header.data()) + align_size(le32(header.data()));
  }
  return table;
}

Result<std::string> read_auth_data(const RandomAccess& file, const WinCertificate& entry, size_t max_bytes) {
  std::array<unsigned char, 10> head{};
  size_t want = static_cast<size_t>(std::min<uint64_t>(head.size(), entry.data_size));
  if (auto st = file.read_at(entry.data_offset, std::span<char>(reinterpret_cast<char*>(head.data()), want)); !st)
    return fail(st.error());
  if (want < 2) return std::string();
  uint64_t header = 2, length = head[1];
  if (head[1] & 0x80) {
    size_t n = head[1] & 0x7f;
    if (n == 0 || n > 8 || want < 2 + n) return std::string();  // indefinite or oversized length: not DER
    length = 0;
    for (size_t i = 0; i < n; ++i) length = length << 8 | head[2 + i];
    header += n;
  }
  if (length > entry.data_size - header) return std::string();
  if (header + length > max_bytes)
    return fail(ErrorKind::invalid_input, "a PKCS#7 signature of " + std::to_string(header + length) + " bytes (more than " +
                                              std::to_string(max_bytes) + ")");
  std::string data(header + length, '\0');
  if (auto st = file.read_at(entry.data_offset, data); !st) return fail(st.error());
  return data;
}

}  // namespace sbpipe

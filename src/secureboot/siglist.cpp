#include "secureboot/siglist.h"

#include <cstdio>

#include "core/bytes.h"

namespace sbpipe {
namespace {

constexpr size_t k_guid_size = 16;
constexpr size_t k_list_header_size = k_guid_size + 12;  // type, ListSize, HeaderSize, SignatureSize
constexpr size_t k_efi_time_size = 16;
constexpr size_t k_win_cert_guid_header = 8 + k_guid_size;  // dwLength, wRevision, wCertificateType, CertType
constexpr uint16_t k_win_cert_type_efi_guid = 0x0ef1;

std::unexpected<Error> malformed(size_t list, const std::string& why) {
  return fail(ErrorKind::invalid_input, "EFI signature list " + std::to_string(list + 1) + ": " + why);
}

}  // namespace

std::string guid_text(std::string_view b) {
  if (b.size() < k_guid_size) return "";
  auto u = [&](size_t i) { return static_cast<unsigned>(static_cast<uint8_t>(b[i])); };
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x", le32(b.data()), le16(b.data() + 4),
                le16(b.data() + 6), u(8), u(9), u(10), u(11), u(12), u(13), u(14), u(15));
  return buf;
}

Result<std::vector<EfiSignatureList>> parse_signature_lists(std::string_view data) {
  std::vector<EfiSignatureList> lists;
  size_t at = 0;
  while (at < data.size()) {
    size_t index = lists.size();
    if (data.size() - at < k_list_header_size) return malformed(index, "truncated header");
    EfiSignatureList list;
    list.type_guid = guid_text(data.substr(at, k_guid_size));
    list.kind = list.type_guid == k_efi_cert_x509_guid     ? SignatureKind::x509
                : list.type_guid == k_efi_cert_sha256_guid ? SignatureKind::sha256
                                                           : SignatureKind::other;
    uint64_t list_size = le32(data.data() + at + 16);
    uint64_t header_size = le32(data.data() + at + 20);
    uint64_t signature_size = le32(data.data() + at + 24);
    if (list_size > data.size() - at) return malformed(index, "SignatureListSize runs past the end of the data");
    if (list_size < k_list_header_size + header_size) return malformed(index, "SignatureListSize smaller than its headers");
    if (signature_size <= k_guid_size) return malformed(index, "SignatureSize too small");
    uint64_t body = list_size - k_list_header_size - header_size;
    if (body % signature_size != 0) return malformed(index, "entries do not fill the list evenly");
    if (list.kind == SignatureKind::sha256 && signature_size != k_guid_size + 32)
      return malformed(index, "SHA-256 entries must be 48 bytes");
    size_t entry_at = at + k_list_header_size + header_size;
    for (uint64_t i = 0; i < body / signature_size; ++i) {
      std::string_view entry = data.substr(entry_at + i * signature_size, signature_size);
      list.entries.push_back({guid_text(entry.substr(0, k_guid_size)), std::string(entry.substr(k_guid_size))});
    }
    lists.push_back(std::move(list));
    at += list_size;
  }
  return lists;
}

Result<AuthenticatedVariable> parse_auth_variable(std::string_view data) {
  auto bad = [](const std::string& why) { return fail(ErrorKind::invalid_input, "not an authenticated variable: " + why); };
  if (data.size() < k_efi_time_size + k_win_cert_guid_header) return bad("shorter than its header");
  AuthenticatedVariable var;
  auto byte = [&](size_t i) { return static_cast<unsigned>(static_cast<uint8_t>(data[i])); };
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "%04u-%02u-%02u %02u:%02u:%02u", le16(data.data()), byte(2), byte(3), byte(4), byte(5),
                byte(6));
  var.timestamp = stamp;
  uint64_t cert_length = le32(data.data() + k_efi_time_size);
  uint16_t revision = le16(data.data() + k_efi_time_size + 4);
  uint16_t type = le16(data.data() + k_efi_time_size + 6);
  if (revision != 0x0200 || type != k_win_cert_type_efi_guid) return bad("AuthInfo is not a WIN_CERTIFICATE_UEFI_GUID");
  if (cert_length < k_win_cert_guid_header || cert_length > data.size() - k_efi_time_size)
    return bad("AuthInfo length runs past the end of the file");
  var.cert_type = guid_text(data.substr(k_efi_time_size + 8, k_guid_size));
  var.signature = std::string(data.substr(k_efi_time_size + k_win_cert_guid_header, cert_length - k_win_cert_guid_header));
  auto lists = parse_signature_lists(data.substr(k_efi_time_size + cert_length));
  if (!lists) return fail(lists.error());
  var.lists = std::move(*lists);
  return var;
}

}  // namespace sbpipe

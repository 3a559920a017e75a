// Unit tests of the SecureBoot parsers, on bytes built here:
// every length and offset check gets its own malformed input.

#include <doctest/doctest.h>

#include "core/random_access.h"
#include "plan/plan.h"
#include "secureboot/authenticode.h"
#include "secureboot/cert_table.h"
#include "secureboot/der.h"
#include "secureboot/pe.h"
#include "secureboot/siglist.h"
#include "secureboot/talos_version.h"
#include "secureboot/uki.h"
#include "secureboot/x509.h"
#include "support/le_bytes.h"

namespace sbpipe {
namespace {

using test::put16;
using test::put32;

struct SectionSpec {
  std::string name;
  uint32_t offset;
  uint32_t size;
  uint32_t virtual_size = 0;
};

// A minimal PE image: MZ header, PE header at 0x80, an optional header of
// the given magic with 16 data directories, the sections, and an optional
// certificate table at `cert_offset`.
std::string make_pe(uint16_t magic, const std::vector<SectionSpec>& sections, size_t file_size, uint32_t cert_offset = 0,
                    uint32_t cert_size = 0) {
  std::string d(file_size, '\0');
  d[0] = 'M';
  d[1] = 'Z';
  const uint32_t pe = 0x80;
  put32(d, 0x3c, pe);
  d.replace(pe, 4, std::string("PE\0\0", 4));
  put16(d, pe + 4, 0x8664);
  put16(d, pe + 6, static_cast<uint16_t>(sections.size()));
  uint16_t optional_size = magic == 0x20b ? 240 : 224;
  put16(d, pe + 20, optional_size);
  size_t opt = pe + 24;
  put16(d, opt, magic);
  put32(d, opt + 56, 0x100000);  // SizeOfImage
  put32(d, opt + 60, 0x400);     // SizeOfHeaders
  size_t dirs = opt + (magic == 0x20b ? 112 : 96);
  put32(d, opt + (magic == 0x20b ? 108 : 92), 16);
  put32(d, dirs + 32, cert_offset);
  put32(d, dirs + 36, cert_size);
  size_t table = opt + optional_size;
  for (size_t i = 0; i < sections.size(); ++i) {
    size_t h = table + i * 40;
    d.replace(h, sections[i].name.size(), sections[i].name);
    put32(d, h + 8, sections[i].virtual_size ? sections[i].virtual_size : sections[i].size);
    put32(d, h + 12, 0x1000 * static_cast<uint32_t>(i + 1));  // VirtualAddress, above the headers
    put32(d, h + 16, sections[i].size);
    put32(d, h + 20, sections[i].offset);
  }
  return d;
}

Result<PeImage> parse(const std::string& bytes) {
  MemoryRandomAccess file(bytes);
  return parse_pe(file);
}

std::string error_of(const Result<PeImage>& r) { return r ? std::string("(parsed)") : r.error().message(); }

}  // namespace

TEST_SUITE("unit") {

TEST_CASE("PE: PE32+ and PE32 headers, sections and Authenticode ranges") {
  for (uint16_t magic : {uint16_t{0x20b}, uint16_t{0x10b}}) {
    CAPTURE(magic);
    std::string bytes = make_pe(magic, {{".text", 0x400, 0x200}, {".cmdline", 0x600, 0x200, 5}}, 0x800);
    bytes.replace(0x600, 5, "a b  ");
    auto image = parse(bytes);
    REQUIRE_MESSAGE(image.has_value(), error_of(image));
    CHECK(image->format == (magic == 0x20b ? PeImage::Format::pe32_plus : PeImage::Format::pe32));
    CHECK(image->machine_name() == "x64");
    CHECK_FALSE(image->is_signed());
    REQUIRE(image->sections.size() == 2);
    MemoryRandomAccess file(bytes);
    auto cmdline = read_section(file, *image->find_section(".cmdline"), 100);
    REQUIRE(cmdline.has_value());
    CHECK(*cmdline == "a b  ");  // VirtualSize bytes, NULs stripped only
    auto ranges = authenticode_ranges(*image);
    REQUIRE(ranges.has_value());
    REQUIRE(ranges->size() == 5);
    CHECK((*ranges)[0].offset == 0);
    CHECK((*ranges)[0].length == image->checksum_offset);
    CHECK((*ranges)[1].offset == image->checksum_offset + 4);
    CHECK((*ranges)[2].offset == image->cert_dir_offset + 8);
    CHECK((*ranges)[3].offset == 0x400);
    CHECK((*ranges)[4].offset == 0x600);
  }
}

TEST_CASE("PE: sections are hashed by file offset, then trailing data up to the certificate table") {
  std::string bytes = make_pe(0x20b, {{".b", 0x600, 0x200}, {".a", 0x400, 0x200}}, 0x900, 0x880, 0x80);
  put32(bytes, 0x880, 0x80);
  put16(bytes, 0x884, 0x0200);
  put16(bytes, 0x886, 0x0002);
  auto image = parse(bytes);
  REQUIRE_MESSAGE(image.has_value(), error_of(image));
  auto ranges = authenticode_ranges(*image);
  REQUIRE(ranges.has_value());
  REQUIRE(ranges->size() == 6);
  CHECK((*ranges)[3].offset == 0x400);
  CHECK((*ranges)[4].offset == 0x600);
  CHECK((*ranges)[5].offset == 0x800);  // trailing data
  CHECK((*ranges)[5].length == 0x80);
  MemoryRandomAccess file(bytes);
  auto table = read_certificate_table(file, *image);
  REQUIRE(table.has_value());
  CHECK(table->incomplete.empty());
  REQUIRE(table->entries.size() == 1);
  CHECK(table->entries.front().type == k_win_cert_type_pkcs_signed_data);
  CHECK(table->entries.front().pkcs7);
  CHECK(table->entries.front().data_size == 0x78);
}

// The walk of DxeImageVerificationHandler (cert_table.h): both entry types
// that carry PKCS#7, wRevision ignored, the padding to 8 bytes required.
TEST_CASE("certificate table: entries walked as EDK2 walks them") {
  // EFI_CERT_TYPE_PKCS7_GUID as it lies in memory (MdePkg/Include/Guid/WinCertificate.h).
  const std::string pkcs7_guid("\x9d\xd2\xaf\x4a\xdf\x68\xee\x49\x8a\xa9\x34\x7d\x37\x56\x65\xa7", 16);
  auto entry = [](uint16_t revision, uint16_t type, const std::string& body, bool pad) {
    std::string e(8, '\0');
    put32(e, 0, static_cast<uint32_t>(8 + body.size()));
    put16(e, 4, revision);
    put16(e, 6, type);
    e += body;
    if (pad) e.resize((e.size() + 7) / 8 * 8, '\0');
    return e;
  };
  auto walk = [](const std::string& table) {
    std::string bytes = make_pe(0x20b, {{".text", 0x400, 0x200}}, 0x600, 0x600, static_cast<uint32_t>(table.size()));
    bytes += table;
    auto image = parse(bytes);
    REQUIRE_MESSAGE(image.has_value(), error_of(image));
    MemoryRandomAccess file(bytes);
    auto walked = read_certificate_table(file, *image);
    REQUIRE(walked.has_value());
    return *walked;
  };
  const std::string p7 = "\x30\x03\x02\x01\x01";  // a DER element: what AuthData starts with

  SUBCASE("WIN_CERTIFICATE_UEFI_GUID with EFI_CERT_TYPE_PKCS7_GUID is verified (the false reject of issue 20)") {
    auto t = walk(entry(0x0200, k_win_cert_type_efi_guid, pkcs7_guid + p7, true));
    CHECK(t.incomplete.empty());
    REQUIRE(t.entries.size() == 1);
    CHECK(t.entries[0].pkcs7);
    CHECK(t.entries[0].data_offset == 0x600 + 24);  // AuthData after the CertType GUID
    CHECK(t.entries[0].data_size == p7.size());
  }
  SUBCASE("a UEFI GUID entry of another CertType is skipped, the next one verified") {
    std::string other_guid(16, '\x11');
    auto t = walk(entry(0x0200, k_win_cert_type_efi_guid, other_guid + p7, true) +
                  entry(0x0200, k_win_cert_type_pkcs_signed_data, p7, true));
    CHECK(t.incomplete.empty());
    REQUIRE(t.entries.size() == 2);
    CHECK_FALSE(t.entries[0].pkcs7);
    CHECK(t.entries[0].skipped.find("CertType") != std::string::npos);
    CHECK(t.entries[1].pkcs7);
  }
  SUBCASE("wRevision is not looked at") {
    auto t = walk(entry(0x0100, k_win_cert_type_pkcs_signed_data, p7, true));
    CHECK(t.incomplete.empty());
    REQUIRE(t.entries.size() == 1);
    CHECK(t.entries[0].pkcs7);
    CHECK(t.entries[0].revision == 0x0100);
  }
  SUBCASE("the last entry without its padding stops the walk") {
    auto t = walk(entry(0x0200, k_win_cert_type_pkcs_signed_data, p7, false));
    CHECK(t.incomplete.find("padding") != std::string::npos);
    CHECK(t.entries.empty());
  }
  SUBCASE("8 bytes after the last entry stop the walk") {
    auto t = walk(entry(0x0200, k_win_cert_type_pkcs_signed_data, p7, true) + std::string(8, '\0'));
    CHECK(t.incomplete.find("after the last WIN_CERTIFICATE") != std::string::npos);
    CHECK(t.entries.size() == 1);
  }
}

TEST_CASE("PE: malformed headers, each with its reason") {
  std::string good = make_pe(0x20b, {{".text", 0x400, 0x200}}, 0x600);
  REQUIRE(parse(good).has_value());

  SUBCASE("too short") { CHECK(error_of(parse("MZ")).find("too short") != std::string::npos); }
  SUBCASE("no MZ: the PE header is looked for at offset 0") {
    std::string b = good;
    b[0] = 'X';
    CHECK(error_of(parse(b)).find("no PE signature") != std::string::npos);
  }
  SUBCASE("e_lfanew past the end") {
    std::string b = good;
    put32(b, 0x3c, 0xfffffff0);
    CHECK(error_of(parse(b)).find("e_lfanew points past the end") != std::string::npos);
  }
  SUBCASE("no PE signature") {
    std::string b = good;
    b[0x80] = 'Q';
    CHECK(error_of(parse(b)).find("no PE signature") != std::string::npos);
  }
  SUBCASE("unknown optional header magic") {
    std::string b = good;
    put16(b, 0x80 + 24, 0x107);
    CHECK(error_of(parse(b)).find("unknown optional header magic") != std::string::npos);
  }
  SUBCASE("more sections than SizeOfHeaders holds") {
    std::string b = good;
    put16(b, 0x80 + 6, 200);
    CHECK(error_of(parse(b)).find("SizeOfHeaders does not cover the section table") != std::string::npos);
  }
  SUBCASE("NumberOfRvaAndSizes disagreeing with SizeOfOptionalHeader") {
    std::string b = good;
    put32(b, 0x80 + 24 + 108, 3);
    CHECK(error_of(parse(b)).find("SizeOfOptionalHeader does not match NumberOfRvaAndSizes") != std::string::npos);
  }
  SUBCASE("SizeOfHeaders beyond the file") {
    std::string b = good;
    put32(b, 0x80 + 24 + 60, 0x10000);
    CHECK(error_of(parse(b)).find("SizeOfHeaders") != std::string::npos);
  }
  SUBCASE("section past the end") {
    std::string b = make_pe(0x20b, {{".linux", 0x400, 0x10000}}, 0x600);
    CHECK(error_of(parse(b)).find("section '.linux' runs past the end") != std::string::npos);
  }
  SUBCASE("section offset that overflows 32 bits") {
    std::string b = make_pe(0x20b, {{".x", 0xffffff00, 0x200}}, 0x600);
    CHECK(error_of(parse(b)).find("overflow 32 bits") != std::string::npos);
  }
  SUBCASE("certificate table past the end") {
    std::string b = make_pe(0x20b, {{".text", 0x400, 0x200}}, 0x600, 0x580, 0x1000);
    CHECK(error_of(parse(b)).find("certificate table points past the end") != std::string::npos);
  }
  SUBCASE("certificate table followed by more data: EDK2 does not mind") {
    std::string b = make_pe(0x20b, {{".text", 0x400, 0x100}}, 0x600, 0x500, 0x80);
    CHECK(parse(b).has_value());
  }
  SUBCASE("WIN_CERTIFICATE longer than the table") {
    std::string b = make_pe(0x20b, {{".text", 0x400, 0x100}}, 0x580, 0x500, 0x80);
    put32(b, 0x500, 0x1000);
    auto image = parse(b);
    REQUIRE(image.has_value());
    MemoryRandomAccess file(b);
    auto table = read_certificate_table(file, *image);
    REQUIRE(table.has_value());
    CHECK(table->entries.empty());
    CHECK(table->incomplete.find("do not fit in the table") != std::string::npos);
  }
}

TEST_CASE("DER reader: lengths are checked") {
  SUBCASE("short and long form") {
    std::string seq = "\x30\x03\x04\x01\x41";
    DerReader r(seq);
    auto e = r.expect(k_der_sequence, "seq");
    REQUIRE(e.has_value());
    CHECK(e->content.size() == 3);
    std::string long_form = std::string("\x04\x81\x02", 3) + "ab";
    DerReader l(long_form);
    auto o = l.next();
    REQUIRE(o.has_value());
    CHECK(o->content == "ab");
    CHECK(l.at_end());
  }
  SUBCASE("malformed") {
    for (std::string bad : {std::string("\x30", 1), std::string("\x30\x05\x01", 3), std::string("\x30\x80\x00\x00", 4),
                            std::string("\x30\x85\x01\x01\x01\x01\x01", 7), std::string("\x1f\x01\x00", 3)}) {
      DerReader r(bad);
      CHECK_FALSE(r.next().has_value());
    }
  }
  SUBCASE("wrong tag names the field") {
    std::string oct = "\x04\x00";
    DerReader r(std::string_view(oct.data(), 2));
    auto e = r.expect(k_der_sequence, "SpcIndirectDataContent");
    REQUIRE_FALSE(e.has_value());
    CHECK(e.error().message().find("SpcIndirectDataContent: expected tag 0x30") != std::string::npos);
  }
  SUBCASE("SpcIndirectDataContent of another type is refused") {
    // SEQUENCE { SEQUENCE { OID 1.2.3 } SEQUENCE { SEQUENCE { OID } OCTET STRING } }
    std::string inner = std::string("\x30\x04\x06\x02\x2a\x03", 6);
    std::string digest = std::string("\x30\x08\x30\x03\x06\x01\x2a\x04\x01\x00", 10);
    std::string idc = std::string("\x30") + static_cast<char>(inner.size() + digest.size()) + inner + digest;
    auto parsed = parse_indirect_data(idc);
    REQUIRE_FALSE(parsed.has_value());
    CHECK(parsed.error().message().find("not a PE image data object") != std::string::npos);
  }
}

TEST_CASE("EFI signature lists and authenticated variables") {
  auto guid = [](std::string_view text) {
    // text form → mixed-endian bytes
    std::string hex;
    for (char c : text)
      if (c != '-') hex += c;
    std::string b(16, '\0');
    auto byte = [&](size_t i) { return static_cast<char>(std::stoi(hex.substr(i * 2, 2), nullptr, 16)); };
    int order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
    for (int i = 0; i < 16; ++i) b[i] = byte(order[i]);
    return b;
  };
  auto list = [&](std::string_view type, uint32_t sig_size, const std::vector<std::string>& entries) {
    std::string l = guid(type) + std::string(12, '\0');
    put32(l, 16, static_cast<uint32_t>(28 + entries.size() * sig_size));
    put32(l, 24, sig_size);
    for (const auto& e : entries) l += guid("11111111-2222-3333-4444-123456789abc") + e;
    return l;
  };
  std::string x509 = list(k_efi_cert_x509_guid, 16 + 5, {"CERT1", "CERT2"});
  std::string sha = list(k_efi_cert_sha256_guid, 48, {std::string(32, 'h')});

  SUBCASE("well-formed lists") {
    auto lists = parse_signature_lists(x509 + sha);
    REQUIRE_MESSAGE(lists.has_value(), lists.error().message());
    REQUIRE(lists->size() == 2);
    CHECK((*lists)[0].kind == SignatureKind::x509);
    CHECK((*lists)[0].type_guid == k_efi_cert_x509_guid);
    REQUIRE((*lists)[0].entries.size() == 2);
    CHECK((*lists)[0].entries[1].data == "CERT2");
    CHECK((*lists)[0].entries[0].owner_guid == "11111111-2222-3333-4444-123456789abc");
    CHECK((*lists)[1].kind == SignatureKind::sha256);
  }
  SUBCASE("malformed lists") {
    std::string too_long = x509;
    put32(too_long, 16, 10000);
    CHECK(parse_signature_lists(too_long).error().message().find("runs past the end") != std::string::npos);
    std::string tiny_sig = x509;
    put32(tiny_sig, 24, 16);
    CHECK(parse_signature_lists(tiny_sig).error().message().find("SignatureSize too small") != std::string::npos);
    std::string uneven = x509;
    put32(uneven, 24, 20);
    CHECK(parse_signature_lists(uneven).error().message().find("evenly") != std::string::npos);
    std::string header = x509;
    put32(header, 20, 1000);
    CHECK(parse_signature_lists(header).error().message().find("smaller than its headers") != std::string::npos);
    CHECK(parse_signature_lists(x509.substr(0, 20)).error().message().find("truncated header") != std::string::npos);
  }
  SUBCASE("authenticated variable") {
    std::string auth(16, '\0');
    put16(auth, 0, 2026);
    auth[2] = 11;
    auth[3] = 22;
    std::string cert_header(8, '\0');
    put32(cert_header, 0, 8 + 16 + 3);
    put16(cert_header, 4, 0x0200);
    put16(cert_header, 6, 0x0ef1);
    auth += cert_header + guid(k_efi_cert_pkcs7_guid) + "SIG" + x509;
    auto var = parse_auth_variable(auth);
    REQUIRE_MESSAGE(var.has_value(), var.error().message());
    CHECK(var->timestamp.starts_with("2026-11-22"));
    CHECK(var->cert_type == k_efi_cert_pkcs7_guid);
    CHECK(var->signature == "SIG");
    CHECK(var->lists.size() == 1);

    std::string bad_revision = auth;
    put16(bad_revision, 20, 0x0100);
    CHECK(parse_auth_variable(bad_revision).error().message().find("WIN_CERTIFICATE_UEFI_GUID") != std::string::npos);
    std::string bad_length = auth;
    put32(bad_length, 16, 100000);
    CHECK(parse_auth_variable(bad_length).error().message().find("AuthInfo length") != std::string::npos);
  }
}

TEST_CASE("PEM labels: private keys are told apart without reading their bodies") {
  std::string text = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n-----BEGIN RSA PRIVATE KEY-----\nBBBB\n";
  CHECK(pem_labels(text) == std::vector<std::string>{"CERTIFICATE", "RSA PRIVATE KEY"});
  CHECK(holds_private_key(text));
  CHECK_FALSE(holds_private_key("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"));
  CHECK(pem_labels("-----BEGIN broken\n-----").empty());
}

TEST_CASE("UKI helpers: cmdline words and os-release values") {
  CHECK(cmdline_words("  a=1\tlockdown=integrity\n b ") == std::vector<std::string>{"a=1", "lockdown=integrity", "b"});
  CHECK(cmdline_words("").empty());
  std::string osrel = "NAME=\"Talos\"\nVERSION_ID=v1.9.0\nVERSION='v1.9.0-beta'\n";
  CHECK(os_release_value(osrel, "VERSION") == "v1.9.0-beta");
  CHECK(os_release_value(osrel, "VERSION_ID") == "v1.9.0");
  CHECK(os_release_value(osrel, "NAME") == "Talos");
  CHECK_FALSE(os_release_value(osrel, "ID").has_value());
}

TEST_CASE("kernel cmdline: read as systemd-stub and the kernel read it") {
  auto words = [](std::string_view text) {
    std::vector<std::string> out;
    for (const auto& p : parse_kernel_cmdline(text).params) out.push_back(p.word());
    return out;
  };
  CHECK(words("talos.platform=metal  console=tty0\tslab_nomerge") ==
        std::vector<std::string>{"talos.platform=metal", "console=tty0", "slab_nomerge"});
  CHECK(words("a lockdown=\"confidentiality\"") == std::vector<std::string>{"a", "lockdown=confidentiality"});
  CHECK(words("\"lockdown=confidentiality\" b") == std::vector<std::string>{"lockdown=confidentiality", "b"});
  CHECK(words("x=\"a b\" c") == std::vector<std::string>{"x=a b", "c"});
  auto nul = parse_kernel_cmdline(std::string_view("talos.platform=metal\0 lockdown=integrity", 41));
  CHECK(nul.truncated_at_nul);
  CHECK(nul.params.size() == 1);
  CHECK_FALSE(parse_kernel_cmdline(std::string_view("a=b\0\0", 5)).truncated_at_nul);  // trailing NULs are padding
  auto dashes = parse_kernel_cmdline("talos.platform=metal -- lockdown=integrity");
  CHECK(dashes.params.size() == 1);
  CHECK(dashes.init_args == std::vector<std::string>{"lockdown=integrity"});
  CHECK(words("a=") == std::vector<std::string>{"a="});
  CHECK(kernel_arg_problem("-lockdown").empty());
}

TEST_CASE("talos version: every UKI's VERSION_ID must name the release's version (talos#9482)") {
  auto uki = [](std::string path, std::optional<std::string> version) {
    Verdict v;
    v.path = std::move(path);
    v.role = "uki";
    v.os_version = std::move(version);
    return v;
  };
  Verdict sdboot;
  sdboot.role = "systemd-boot";
  std::vector<Verdict> verdicts{uki("a.iso!EFI/Linux/Talos-v1.14.0.efi", "v1.14.0"), sdboot, uki("i.tar!vmlinuz.efi", "1.14.0")};
  auto ok = talos_version_verdict(verdicts, "v1.14.0");
  CHECK(ok.ok);
  CHECK(ok.role == "version");
  CHECK(ok.reason == "every UKI (2) names v1.14.0");

  verdicts.push_back(uki("x.efi", "v1.13.9"));
  verdicts.push_back(uki("y.efi", std::nullopt));
  auto wrong = talos_version_verdict(verdicts, "v1.14.0");
  CHECK_FALSE(wrong.ok);
  CHECK(wrong.reason ==
        "x.efi is v1.13.9; y.efi names no VERSION_ID in .osrel; expected v1.14.0 (imager.image, base_installer_image and "
        "the tag must name one Talos version: siderolabs/talos#9482)");
  CHECK_FALSE(talos_version_verdict({sdboot}, "v1.14.0").ok);  // nothing to read it from: not ok
  CHECK(bare_version("v1.14.0") == "1.14.0");
}

}  // TEST_SUITE("unit")
}  // namespace sbpipe

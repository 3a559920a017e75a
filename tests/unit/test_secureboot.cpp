// Unit tests of the SecureBoot parsers and the plan, on bytes built here:
// every length and offset check gets its own malformed input.

#include <doctest/doctest.h>

#include "core/random_access.h"
#include "secureboot/authenticode.h"
#include "secureboot/cert_table.h"
#include "secureboot/der.h"
#include "secureboot/pe.h"
#include "plan/plan.h"
#include "secureboot/siglist.h"
#include "secureboot/uki.h"
#include "secureboot/x509.h"

namespace sbpipe {
namespace {

void put16(std::string& d, size_t at, uint16_t v) {
  d[at] = static_cast<char>(v & 0xff);
  d[at + 1] = static_cast<char>(v >> 8);
}
void put32(std::string& d, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) d[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

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

TEST_CASE("plan: defaults, overrides and imager's refusals") {
  PlanConfig config;
  config.pxe = false;
  auto plan = make_plan("v1.9.0", config, nullptr);
  REQUIRE(plan.has_value());
  REQUIRE(plan->invocations.size() == 3);
  const auto& sb = plan->invocations[0];
  CHECK(sb.image == "ghcr.io/siderolabs/imager:v1.9.0");
  CHECK(sb.args == std::vector<std::string>{"secureboot-installer", "--arch", "amd64", "--output", "/out", "--extra-kernel-arg",
                                            "-lockdown", "--extra-kernel-arg", "lockdown=integrity"});
  CHECK(plan->invocations[1].output_file == "metal-amd64-secureboot.iso");
  CHECK(plan->invocations[2].output_file == "metal-amd64.iso");

  SUBCASE("extensions, base installer and two architectures; META only on images") {
    config.architectures = {"amd64", "arm64"};
    config.outputs = {"secureboot-installer", "iso"};
    config.base_installer_image = "ghcr.io/owner/installer:{version}";
    config.system_extensions = {"ghcr.io/siderolabs/gvisor:20231214.0-v1.6.0"};
    auto p = make_plan("v1.9.0", config, nullptr);
    REQUIRE_MESSAGE(!!p, p.error().message());
    REQUIRE(p->invocations.size() == 4);
    CHECK(p->invocations[1].name == "secureboot-installer-arm64");
    const auto& args = p->invocations[0].args;
    CHECK(std::find(args.begin(), args.end(), "ghcr.io/owner/installer:v1.9.0") != args.end());
    const auto& iso_args = p->invocations[2].args;
    CHECK(std::find(iso_args.begin(), iso_args.end(), "--base-installer-image") == iso_args.end());
    config.outputs = {"iso"};
    config.meta = {"0xa=value"};
    auto with_meta = make_plan("v1.9.0", config, nullptr);
    REQUIRE(with_meta.has_value());
    const auto& meta_args = with_meta->invocations[0].args;
    CHECK(std::find(meta_args.begin(), meta_args.end(), "0xa=value") != meta_args.end());
  }
  SUBCASE("refusals") {
    auto refused = [](PlanConfig c, const std::string& version = "v1.9.0") {
      auto p = make_plan(version, c, nullptr);
      return p ? std::string("(planned)") : p.error().message();
    };
    PlanConfig c;
    CHECK(refused(c, "v1.9.0 bad").find("not a valid image tag") != std::string::npos);
    c.outputs = {"floppy"};
    CHECK(refused(c).find("unknown output 'floppy'") != std::string::npos);
    c = {};
    c.outputs = {"iso", "iso"};
    CHECK(refused(c).find("listed twice") != std::string::npos);
    c = {};
    c.outputs = {"installer"};
    c.extra_kernel_args = {"console=ttyS0"};
    CHECK(refused(c).find("imager refuses kernel args") != std::string::npos);
    c = {};
    c.meta = {"0xa=x"};
    CHECK(refused(c).find("imager refuses META values") != std::string::npos);
    c = {};
    c.meta = {"name=x"};
    CHECK(refused(c) == "meta: 'name=x' is not KEY=VALUE with a key of 0-255 (e.g. 0xa=..., 10=...)");
    c = {};
    c.extra_kernel_args = {"a b"};
    CHECK(refused(c).find("must be one word") != std::string::npos);
    c = {};
    c.system_extensions = {"siderolabs/gvisor:latest"};
    CHECK(refused(c).find("must name a registry host") != std::string::npos);
  }
  SUBCASE("pinning asks the resolver for each tagged image, once, and keeps pinned ones") {
    std::vector<std::string> asked;
    DigestResolver resolver = [&](const ImageRef& ref) -> Result<std::string> {
      asked.push_back(ref.str());
      return "sha256:" + std::string(64, 'a');
    };
    config.system_extensions = {"ghcr.io/a/b:1", "ghcr.io/a/c:2@sha256:" + std::string(64, 'b')};
    auto p = make_plan("v1.9.0", config, &resolver);
    REQUIRE(p.has_value());
    CHECK(asked == std::vector<std::string>{"ghcr.io/siderolabs/imager:v1.9.0", "ghcr.io/a/b:1"});
    CHECK(p->invocations[0].image == "ghcr.io/siderolabs/imager:v1.9.0@sha256:" + std::string(64, 'a'));
    DigestResolver failing = [](const ImageRef&) -> Result<std::string> { return fail(ErrorKind::not_found, "tag not found"); };
    auto f = make_plan("v1.9.0", config, &failing);
    REQUIRE_FALSE(f.has_value());
    CHECK(f.error().message().find("cannot pin to a digest: tag not found") != std::string::npos);
  }
}

TEST_CASE("plan: network-boot assets come from imager, signed for SecureBoot plans") {
  PlanConfig c;
  c.extra_kernel_args = {"console=ttyS0"};
  c.meta = {"0xa=x"};
  c.outputs = {"secureboot-iso", "iso"};
  c.system_extensions = {"ghcr.io/siderolabs/gvisor:1"};
  auto p = make_plan("v1.11.0", c, nullptr);
  REQUIRE_MESSAGE(p.has_value(), p.error().message());
  REQUIRE(p->invocations.size() == 6);
  auto by = [&](const std::string& name) -> const ImagerInvocation& {
    for (const auto& inv : p->invocations)
      if (inv.name == name) return inv;
    FAIL("no invocation " << name);
    return p->invocations.front();
  };
  const auto& kernel = by("pxe-kernel-amd64");
  CHECK(kernel.args == std::vector<std::string>{"iso", "--arch", "amd64", "--output", "/out", "--output-kind", "kernel",
                                                "--system-extension-image", "ghcr.io/siderolabs/gvisor:1"});
  CHECK(kernel.output_file == "kernel-amd64");
  CHECK(kernel.asset_name == "vmlinuz-amd64");
  CHECK_FALSE(kernel.secureboot);
  CHECK(by("pxe-initramfs-amd64").asset_name == "initramfs-amd64.xz");
  CHECK(by("pxe-initramfs-amd64").output_file == "initramfs-metal-amd64.xz");
  const auto& cmdline = by("pxe-cmdline-amd64");
  CHECK(cmdline.args == std::vector<std::string>{"iso", "--arch", "amd64", "--output", "/out", "--output-kind", "cmdline",
                                                 "--system-extension-image", "ghcr.io/siderolabs/gvisor:1", "--extra-kernel-arg",
                                                 "console=ttyS0", "--meta", "0xa=x"});
  const auto& uki = by("pxe-uki-amd64");
  CHECK(uki.profile == "secureboot-metal-uki");
  CHECK(uki.secureboot);
  CHECK(uki.output_file == "metal-amd64-secureboot-uki.efi");
  CHECK(uki.args[5] == "--system-extension-image");
  CHECK(std::find(uki.args.begin(), uki.args.end(), "lockdown=integrity") != uki.args.end());
  auto old = make_plan("v1.9.2", c, nullptr);
  REQUIRE(old.has_value());
  CHECK(old->invocations.back().args[0] == "secureboot-iso");  // before 1.10: the SecureBoot ISO profile's UKI output
  CHECK(old->invocations.back().args[6] == "uki");
  c.outputs = {"iso"};
  auto plain = make_plan("v1.11.0", c, nullptr);
  REQUIRE(plain.has_value());
  CHECK(plain->invocations.size() == 4);  // no SecureBoot output: no signed UKI
}

TEST_CASE("plan: the rules that differ between Talos versions") {
  auto planned = [](PlanConfig c, const std::string& version) {
    auto p = make_plan(version, c, nullptr);
    return p ? std::string("(planned)") : p.error().message();
  };
  PlanConfig c;
  c.outputs = {"installer"};
  c.extra_kernel_args = {"console=ttyS0"};
  SUBCASE("kernel args on the plain installer: refused before 1.10, taken from 1.10 (it carries a UKI)") {
    CHECK(planned(c, "v1.9.6") ==
          "extra_kernel_args: imager refuses kernel args for the 'installer' output before Talos 1.10 "
          "(only SecureBoot installers carry a cmdline)");
    CHECK(planned(c, "v1.10.0") == "(planned)");
    CHECK(planned(c, "v1.13.2") == "(planned)");
    CHECK(planned(c, "custom-build") == "(planned)");  // no Talos version: the newest rules, as imager's quirks
    c.talos_version = "v1.9.0";
    CHECK(planned(c, "custom-build").starts_with("extra_kernel_args: imager refuses"));
    c.talos_version = "nine";
    CHECK(planned(c, "custom-build") == "talos_version: 'nine' is not a Talos version (vX.Y.Z)");
  }
  SUBCASE("META keys as strconv.ParseUint(key, 0, 8) reads them") {
    PlanConfig m;
    m.outputs = {"iso"};
    for (const char* ok : {"0=x", "10=x", "255=x", "0xa=x", "0XFF=x", "0o17=x", "0b101=x", "010=x", "0377=x"}) {
      m.meta = {ok};
      CHECK_MESSAGE(planned(m, "v1.9.0") == "(planned)", ok);
    }
    for (const char* bad : {"256=x", "08=x", "0400=x", "0x100=x", "0b2=x", "0x=x", "-1=x", "=x", "a=x", "10"}) {
      m.meta = {bad};
      CHECK_MESSAGE(planned(m, "v1.9.0").starts_with("meta: '"), bad);
    }
  }
  SUBCASE("disk images are .raw.zst and must be listed as unverified to be planned") {
    PlanConfig d;
    d.outputs = {"secureboot-iso", "secureboot-metal"};
    CHECK(planned(d, "v1.11.0") ==
          "outputs: 'secureboot-metal' is a disk image, which verify cannot look inside, so it would be "
          "published unchecked; list it under imager.unverified_outputs to publish it anyway (marked unverified)");
    d.unverified_outputs = {"secureboot-iso"};
    CHECK(planned(d, "v1.11.0") == "unverified_outputs: 'secureboot-iso' can be verified; only disk images may be listed");
    d.unverified_outputs = {"metal"};
    CHECK(planned(d, "v1.11.0") == "unverified_outputs: 'metal' is not one of the outputs");
    d.unverified_outputs = {"secureboot-metal"};
    auto p = make_plan("v1.11.0", d, nullptr);
    REQUIRE(p.has_value());
    CHECK(p->invocations[1].output_file == "metal-amd64-secureboot.raw.zst");
    CHECK_FALSE(p->invocations[1].verified);
    CHECK(p->invocations[0].verified);
  }
  SUBCASE("Microsoft's certificates in db on request, for SecureBoot ISOs and disk images") {
    PlanConfig w;
    w.secureboot_include_well_known_certs = true;
    auto p = make_plan("v1.11.0", w, nullptr);
    REQUIRE(p.has_value());
    auto has_flag = [](const ImagerInvocation& inv) {
      return std::find(inv.args.begin(), inv.args.end(), "--secureboot-include-well-known-certs") != inv.args.end();
    };
    CHECK_FALSE(has_flag(p->invocations[0]));  // secureboot-installer: no enrolment files in it
    CHECK(has_flag(p->invocations[1]));        // secureboot-iso
    CHECK_FALSE(has_flag(p->invocations[2]));  // iso
  }
  SUBCASE("kernel args the kernel would read differently are refused") {
    PlanConfig k;
    k.extra_kernel_args = {"\"lockdown=confidentiality\""};
    CHECK(planned(k, "v1.11.0") ==
          "extra_kernel_args: '\"lockdown=confidentiality\"' holds a double quote, which the kernel "
          "strips (so it reads another value)");
    k.extra_kernel_args = {"--"};
    CHECK(planned(k, "v1.11.0") == "extra_kernel_args: '--' is \"--\", after which every argument goes to init, not the kernel");
    k.extra_kernel_args = {std::string("a\0b", 3)};
    CHECK(planned(k, "v1.11.0").ends_with("holds a NUL byte, where the kernel command line ends"));
  }
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

TEST_CASE("plan config: YAML errors name the file and key") {
  auto ok = parse_plan_config("imager:\n  outputs: [iso]\n  architectures: [arm64]\nother_section: {x: 1}\n", "f.yaml");
  REQUIRE(ok.has_value());
  CHECK(ok->outputs == std::vector<std::string>{"iso"});
  CHECK(parse_plan_config("imager:\n  outputs: iso\n", "f.yaml").error().message() ==
        "f.yaml: imager.outputs must be a list of strings");
  CHECK(parse_plan_config("imager:\n  colour: red\n", "f.yaml").error().message() == "f.yaml: unknown key imager.colour");
  CHECK(parse_plan_config("imager: [\n", "f.yaml").error().message().starts_with("f.yaml: not valid YAML"));
  CHECK(parse_plan_config("imager:\n  outputs: iso\n", "f.yaml").error().kind() == ErrorKind::config);
}

TEST_CASE("plan shell: words are quoted for sh") {
  CHECK(shell_quote("ghcr.io/a/b:1") == "ghcr.io/a/b:1");
  CHECK(shell_quote("a b") == "'a b'");
  CHECK(shell_quote("it's") == "'it'\\''s'");
  CHECK(shell_quote("") == "''");
  Plan p;
  p.invocations.push_back(ImagerInvocation{"iso-amd64",
                                           "iso",
                                           "amd64",
                                           false,
                                           OutputKind::iso,
                                           "img:1",
                                           {"iso", "--extra-kernel-arg", "x=$(reboot)"},
                                           "metal-amd64.iso",
                                           true});
  std::string text = plan_shell(p, ShellOptions{"podman", "/srv/my out", ""});
  CHECK(text.find("podman run --rm -t -v '/srv/my out:/out' img:1 iso --extra-kernel-arg 'x=$(reboot)'") != std::string::npos);
  CHECK(text.find("/secureboot") == std::string::npos);  // no keys for a plain ISO
}

}  // TEST_SUITE("unit")
}  // namespace sbpipe

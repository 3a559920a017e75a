#include "support/secureboot_fixtures.h"

#include <stdexcept>

#include "core/random_access.h"
#include "secureboot/cert_table.h"
#include "secureboot/pe.h"
#include "support/image_builder.h"
#include "support/process.h"

namespace sbpipe::test {
namespace {
// The owner GUID efitools writes into signature lists.
constexpr const char* k_owner_guid = "11111111-2222-3333-4444-123456789abc";
}  // namespace

std::string must_run(const std::vector<std::string>& argv) {
  auto r = run(argv);
  if (r.exit_code != 0) throw std::runtime_error(argv[0] + " failed (" + std::to_string(r.exit_code) + "): " + r.err);
  return r.out;
}

KeyPair make_key_pair(const fs::path& dir, const std::string& name, const std::string& cn, int bits, int days) {
  KeyPair p{dir / (name + "-key.pem"), dir / (name + "-cert.pem")};
  must_run({"openssl", "genrsa", "-traditional", "-out", p.key.string(), std::to_string(bits)});
  must_run({"openssl", "req", "-x509", "-new", "-key", p.key.string(), "-out", p.cert.string(), "-days", std::to_string(days),
            "-subj", "/CN=" + cn});
  return p;
}

KeyPair make_issued_pair(const fs::path& dir, const std::string& name, const std::string& cn, const KeyPair& ca) {
  KeyPair p{dir / (name + "-key.pem"), dir / (name + "-cert.pem")};
  fs::path csr = dir / (name + ".csr");
  must_run({"openssl", "genrsa", "-traditional", "-out", p.key.string(), "2048"});
  must_run({"openssl", "req", "-new", "-key", p.key.string(), "-out", csr.string(), "-subj", "/CN=" + cn});
  must_run({"openssl", "x509", "-req", "-in", csr.string(), "-CA", ca.cert.string(), "-CAkey", ca.key.string(), "-CAcreateserial",
            "-out", p.cert.string(), "-days", "365"});
  return p;
}

const fs::path& default_pcr_key() {
  static TempDir dir;
  static const fs::path key = [] {
    fs::path k = dir / "pcr-signing-key.pem";
    must_run({"openssl", "genrsa", "-traditional", "-out", k.string(), "2048"});
    return k;
  }();
  return key;
}

fs::path public_half(const fs::path& key) {
  fs::path pub = key.string() + ".pub";
  if (!fs::exists(pub)) must_run({"openssl", "rsa", "-in", key.string(), "-pubout", "-out", pub.string()});
  return pub;
}

std::string model_pcrsig(const fs::path& uki, const fs::path& pcr_key) {
  return must_run({"/usr/bin/python3", source_dir() + "/scripts/talos_model/pcr.py", "sign-uki", uki.string(), pcr_key.string()});
}

void build_uki(const fs::path& out, const UkiSpec& spec, const fs::path& scratch) {
  fs::create_directories(scratch);
  write_file(scratch / "osrel", "NAME=\"Talos\"\nID=talos\nVERSION_ID=" + spec.version + "\nVERSION=\"" + spec.version + "\"\n");
  write_file(scratch / "cmdline", spec.cmdline);
  write_file(scratch / "linux", random_bytes(spec.kernel_bytes, 7));
  write_file(scratch / "initrd", random_bytes(spec.initrd_bytes, 8));
  std::vector<std::string> argv{
      "objcopy",         "--add-section", ".osrel=" + (scratch / "osrel").string(),     "--change-section-vma",
      ".osrel=0x20000",  "--add-section", ".cmdline=" + (scratch / "cmdline").string(), "--change-section-vma",
      ".cmdline=0x30000"};
  fs::path pcr_key = spec.pcr_key.empty() ? default_pcr_key() : spec.pcr_key;
  if (spec.pcr_policy)
    argv.insert(argv.end(),
                {"--add-section", ".pcrpkey=" + public_half(pcr_key).string(), "--change-section-vma", ".pcrpkey=0x40000"});
  fs::path without_sig = spec.pcr_policy ? scratch / "uki-without-pcrsig.efi" : out;
  argv.insert(argv.end(), {"--add-section", ".linux=" + (scratch / "linux").string(), "--change-section-vma", ".linux=0x2000000",
                           "--add-section", ".initrd=" + (scratch / "initrd").string(), "--change-section-vma",
                           ".initrd=0x3000000", k_stub.string(), without_sig.string()});
  must_run(argv);
  if (!spec.pcr_policy) return;
  // .pcrsig is not measured, so adding it leaves the policy it signs intact.
  write_file(scratch / "pcrsig",
             spec.pcrsig ? *spec.pcrsig : model_pcrsig(without_sig, spec.pcrsig_key.empty() ? pcr_key : spec.pcrsig_key));
  must_run({"objcopy", "--add-section", ".pcrsig=" + (scratch / "pcrsig").string(), "--change-section-vma", ".pcrsig=0x4000000",
            without_sig.string(), out.string()});
}

void sbsign(const fs::path& in, const fs::path& out, const KeyPair& keys) {
  must_run({"sbsign", "--key", keys.key.string(), "--cert", keys.cert.string(), "--output", out.string(), in.string()});
}

bool sbverify_accepts(const fs::path& file, const fs::path& cert) {
  return run({"sbverify", "--cert", cert.string(), file.string()}).exit_code == 0;
}

void write_installer(const fs::path& out, const fs::path& uki, const fs::path& sdboot, const std::string& arch, bool gzip) {
  std::vector<TestLayer> layers{
      make_layer({{"usr/bin/installer", random_bytes(50000, 3)}, {"etc/os-release", "ID=talos\n"}}, gzip),
      make_layer({{"usr/install/" + arch + "/vmlinuz.efi", read_file(uki)},
                  {"usr/install/" + arch + "/systemd-boot.efi", read_file(sdboot)}},
                 gzip)};
  write_tar(out, docker_save_members(layers, config_json(arch, layers)));
}

void write_iso(const fs::path& out, const fs::path& staging) {
  std::vector<std::string> argv{"xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-V", "TALOS"};
  // As imager does (pkg/imager/iso/uefi.go): EFI/ and loader/ also in a FAT
  // image, appended as partition 2 and named the El Torito UEFI image.
  fs::path img = out.string() + ".efiboot.img";
  std::vector<std::string> mcopy{"mcopy", "-s", "-Q", "-i", img.string()};
  for (const char* top : {"EFI", "loader"})
    if (fs::exists(staging / top)) mcopy.push_back((staging / top).string());
  if (mcopy.size() > 5) {
    must_run({"truncate", "-s", "34M", img.string()});
    must_run({"mkfs.vfat", "-F", "32", "-n", "EFI", img.string()});
    mcopy.push_back("::");
    must_run(mcopy);
    argv.insert(argv.end(),
                {"-e", "--interval:appended_partition_2:all::", "-append_partition", "2", "0xef", img.string(),
                 // imager's layout (siderolabs/talos pkg/imager/iso/uefi.go): the ISO volume then spans the
                 // appended partition, so the El Torito entry (sector count 0 for an image over 32 MiB) is the
                 // whole partition to EDK2's ElTorito.c, and not empty
                 "-partition_cyl_align", "all", "-partition_offset", "16", "-iso_mbr_part_type", "0x83", "-no-emul-boot"});
  }
  argv.insert(argv.end(), {"-o", out.string(), staging.string()});
  must_run(argv);
  fs::remove(img);
}

void write_enrolment(const fs::path& dir, const std::vector<fs::path>& db_certs) {
  auto pk = make_key_pair(dir, "PK", "Test PK");
  auto kek = make_key_pair(dir, "KEK", "Test KEK");
  auto esl = [&](const std::vector<fs::path>& certs, const fs::path& out) {
    std::string joined;
    for (size_t i = 0; i < certs.size(); ++i) {
      fs::path part = dir / (out.stem().string() + "-" + std::to_string(i) + ".esl");
      must_run({"cert-to-efi-sig-list", "-g", k_owner_guid, certs[i].string(), part.string()});
      joined += read_file(part);
    }
    write_file(out, joined);
  };
  esl({pk.cert}, dir / "PK.esl");
  esl({kek.cert}, dir / "KEK.esl");
  esl(db_certs, dir / "db.esl");
  auto sign = [&](const KeyPair& by, const char* var, const char* name) {
    must_run({"sign-efi-sig-list", "-g", k_owner_guid, "-k", by.key.string(), "-c", by.cert.string(), var,
              (dir / (std::string(name) + ".esl")).string(), (dir / (std::string(name) + ".auth")).string()});
  };
  sign(pk, "PK", "PK");
  sign(pk, "KEK", "KEK");
  sign(kek, "db", "db");
}

std::vector<fs::path> embedded_certificates(const fs::path& efi, const fs::path& dir) {
  auto file = open_random_access(efi);
  auto image = parse_pe(**file);
  if (!image) throw std::runtime_error(efi.string() + ": " + image.error().message());
  auto table = read_certificate_table(**file, *image);
  if (!table || table->entries.empty() || !table->entries.front().pkcs7)
    throw std::runtime_error(efi.string() + ": no signature");
  auto der = read_auth_data(**file, table->entries.front(), 1 << 20);
  if (!der) throw std::runtime_error(efi.string() + ": " + der.error().message());
  fs::path p7 = dir / (efi.filename().string() + ".p7");
  write_file(p7, *der);
  std::string pem = must_run({"openssl", "pkcs7", "-inform", "DER", "-in", p7.string(), "-print_certs"});
  std::vector<fs::path> out;
  const std::string end = "-----END CERTIFICATE-----";
  size_t at = 0;
  for (size_t begin = pem.find("-----BEGIN CERTIFICATE-----", at); begin != std::string::npos;
       begin = pem.find("-----BEGIN CERTIFICATE-----", at)) {
    size_t stop = pem.find(end, begin) + end.size();
    fs::path cert = dir / (efi.filename().string() + "-" + std::to_string(out.size()) + ".pem");
    write_file(cert, pem.substr(begin, stop - begin) + "\n");
    out.push_back(cert);
    at = stop;
  }
  return out;
}

}  // namespace sbpipe::test

#include "secureboot/verify.h"

#include <algorithm>
#include <future>

#include "core/file.h"
#include "secureboot/authenticode.h"
#include "secureboot/pcr_policy.h"
#include "secureboot/siglist.h"
#include "secureboot/uki.h"
#include "secureboot/x509.h"

namespace sbpipe {
namespace {

// Appends the command-line problems of one UKI profile to `problems`, as
// the kernel reads its command line (kernel_cmdline.h).
void check_cmdline(const UkiProfile& profile, const VerifyOptions& options, std::vector<std::string>& problems) {
  std::string where = profile.id.empty() ? "cmdline" : "profile " + profile.id + ": cmdline";
  const auto& cmdline = profile.kernel_cmdline;
  auto has = [&](const std::string& w) {
    return std::any_of(cmdline.params.begin(), cmdline.params.end(), [&](const KernelParam& p) { return p.word() == w; });
  };
  for (const auto& w : options.require_cmdline)
    if (!has(w)) problems.push_back(where + " lacks " + w);
  for (const auto& w : options.forbid_cmdline)
    if (has(w)) problems.push_back(where + " has forbidden " + w);
  if (cmdline.truncated_at_nul) problems.push_back(where + " has text after a NUL byte, which systemd-stub drops");
  if (!cmdline.init_args.empty()) problems.push_back(where + " has a bare --: what follows goes to init, not the kernel");
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}

// The db an ISO enrols must trust the signer, or every node enrolled from
// it refuses the images it boots.
Verdict verify_database(const EfiBinary& file, const VerifyOptions& options) {
  Verdict v;
  v.path = file.display;
  v.role = "db";
  auto data = read_small_file(file.file, 1 << 20);
  if (!data) {
    v.reason = data.error().message();
    return v;
  }
  auto var = parse_auth_variable(*data);
  if (!var) {
    v.reason = var.error().message();
    return v;
  }
  size_t certs = 0;
  for (const auto& list : var->lists)
    for (const auto& entry : list.entries) {
      if (list.kind != SignatureKind::x509) continue;
      ++certs;
      if (std::find(options.trusted.begin(), options.trusted.end(), entry.data) != options.trusted.end()) v.ok = true;
    }
  v.reason = v.ok ? "holds the given certificate (" + std::to_string(certs) + " certificate(s))"
                  : "does not hold the given certificate: nodes enrolled from it will refuse these images";
  v.signature_ok = v.ok;
  v.signature_reason = v.reason;
  return v;
}

// The named policies stricter than the firmware (verify.h), on the
// signature the firmware would accept.
void check_named_policies(const PeImage& image, const AuthenticodeReport& report, std::vector<std::string>& policy) {
  if (!image.has_mz_header)
    policy.push_back(
        "policy mz-header: no MZ header (EDK2 reads the PE header at offset 0, but systemd-boot and systemd-stub "
        "find their sections through the MZ header)");
  if (!report.ok()) return;
  bool strong = false, rsa = false;
  for (const auto& s : report.signatures) {
    if (!s.ok()) continue;
    strong = strong || s.digest_algorithm != "sha1";
    rsa = rsa || s.signer_key_type == "RSA";
  }
  if (!strong)
    policy.push_back("policy sha1-signature: only a SHA-1 signature passes (the firmware accepts it; SHA-1 is broken)");
  if (!rsa) policy.push_back("policy rsa-signer: no passing signature is by an RSA key (imager signs with RSA)");
}

}  // namespace

Verdict verify_binary(const EfiBinary& binary, const VerifyOptions& options) {
  if (binary.expected == ExpectedRole::signature_database) return verify_database(binary, options);
  if (binary.expected == ExpectedRole::layout) {
    Verdict v;
    v.path = binary.display;
    v.role = binary.display.find("!ESP(") != std::string::npos ? "esp" : "layout";
    v.ok = binary.problem.empty();
    v.reason = v.ok ? binary.note : binary.problem;
    return v;
  }
  Verdict v;
  v.path = binary.display;
  v.role = binary.expected == ExpectedRole::uki ? "uki" : binary.expected == ExpectedRole::bootloader ? "bootloader" : "efi";
  // Before the signature is judged, a failure is the firmware's too: it
  // cannot start what it cannot read or load.
  auto failed = [&](std::string reason) {
    v.ok = false;
    v.signature_ok = false;
    v.signature_reason = reason;
    v.reason = std::move(reason);
    return v;
  };
  auto file = open_random_access(binary.file);
  if (!file) return failed(file.error().message());
  auto image = parse_pe(**file);
  if (!image) return failed(image.error().message());
  EfiRole role = role_of(*image);
  v.role = std::string(role_name(role));
  v.machine = image->machine_name();

  std::vector<std::string> policy;
  if (binary.expected == ExpectedRole::uki && role != EfiRole::uki)
    policy.push_back("expected a UKI but there is no .linux section");

  // A UKI's section digests for the PCR policy (sha256 and sha512 banks)
  // are hashed on a second thread while this one computes the Authenticode
  // digest and then the sha384 bank: a 100 MiB UKI costs the time of the
  // longer half, not of four passes.
  std::optional<Result<UkiInfo>> uki;
  std::optional<SectionDigests> digests;
  std::future<Status> side_banks;
  if (role == EfiRole::uki) {
    uki = read_uki(**file, *image);
    if (*uki) {
      digests.emplace(**file);
      side_banks = std::async(std::launch::async, [&] { return digests->fill(measured_sections(**uki), {"sha256", "sha512"}); });
    } else {
      policy.push_back((*uki).error().message());
    }
  }
  auto join_side = [&]() -> Status { return side_banks.valid() ? side_banks.get() : Status{}; };
  auto report = check_authenticode(**file, *image, options.trusted);
  if (!report) {
    (void)join_side();
    v.ok = false;
    v.reason = v.signature_reason = report.error().message();
    return v;
  }
  v.sha256 = report->sha256;
  for (const auto& s : report->signatures)
    if (s.ok() || v.signer.empty()) {
      v.signer = s.signer_subject;
      v.signer_der = s.signer_der;
      if (s.ok()) break;
    }
  v.signature_ok = report->ok();
  v.signature_reason = v.signature_ok ? "signed by " + v.signer : report->problem();
  check_named_policies(*image, *report, policy);

  std::vector<std::string> notes;
  if (uki && *uki) {
    // After the signature verdict, a read error fails the binary but leaves that verdict.
    auto aborted = [&](const Error& e) {
      v.ok = false;
      v.reason = e.message();
      v.policy = policy;
      v.policy.push_back(e.message());
      return v;
    };
    auto filled = digests->fill(measured_sections(**uki), {"sha384"});
    if (auto st = join_side(); !st) return aborted(st.error());
    if (!filled) return aborted(filled.error());
    auto& info = **uki;
    v.cmdline = info.profiles.front().cmdline;
    v.os_version = info.os_version;
    v.has_pcrsig = info.has_pcrsig;
    v.has_pcrpkey = info.pcrpkey.has_value();
    v.pcrpkey = info.pcrpkey;
    std::vector<std::string> ids;
    bool policies_ok = true;
    for (const auto& profile : info.profiles) {
      check_cmdline(profile, options, policy);
      auto pcr = check_pcr_policy(**file, profile, info.pcrpkey, *digests);
      if (!pcr) return aborted(pcr.error());
      std::string where = profile.id.empty() ? "pcr11 policy: " : "profile " + profile.id + ": pcr11 policy: ";
      for (const auto& p : pcr->problems) policy.push_back(where + p);
      policies_ok = policies_ok && pcr->ok;
      v.profiles.push_back(ProfileVerdict{profile.id, profile.cmdline, std::move(*pcr)});
      if (!profile.id.empty()) ids.push_back(profile.id);
    }
    if (options.pcr_public_key) {
      if (!info.pcrpkey) {
        policy.push_back("no .pcrpkey section, expected the given PCR public key");
      } else {
        auto same = same_public_key(*info.pcrpkey, *options.pcr_public_key);
        if (!same)
          policy.push_back(".pcrpkey: " + same.error().message());
        else if (!*same)
          policy.push_back(
              ".pcrpkey is not the given PCR public key: nodes whose disks are sealed to that key cannot unseal "
              "them with this build");
      }
    }
    if (v.os_version) notes.push_back("VERSION=" + *v.os_version);
    if (!ids.empty()) notes.push_back("profiles " + join(ids, " "));
    if (policies_ok) notes.push_back("pcr11 policy ok");
  } else {
    (void)join_side();
  }
  v.policy = policy;
  v.ok = v.signature_ok && policy.empty();
  if (!v.ok) {
    std::vector<std::string> problems;
    if (!v.signature_ok) problems.push_back(v.signature_reason);
    problems.insert(problems.end(), policy.begin(), policy.end());
    v.reason = join(problems, "; ");
    return v;
  }
  notes.insert(notes.begin(), v.signature_reason);
  v.reason = join(notes, ", ");
  return v;
}

}  // namespace sbpipe

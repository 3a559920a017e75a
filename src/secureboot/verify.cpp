#include "secureboot/verify.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "core/file.h"
#include "core/hex.h"
#include "secureboot/authenticode.h"
#include "secureboot/digest_pass.h"
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

// The db an ISO enrols, read for its own line (what it holds) and as the
// ISO's default anchor.
Result<SignatureDatabase> read_database(const EfiBinary& file) {
  auto data = read_small_file(file.file, 1 << 20);
  if (!data) return fail(data.error());
  return parse_signature_database(*data, file.display);
}

Verdict verify_database(const EfiBinary& file) {
  Verdict v;
  v.path = file.display;
  v.role = "db";
  auto db = read_database(file);
  if (!db) {
    v.reason = v.signature_reason = db.error().message();
    return v;
  }
  v.ok = v.signature_ok = true;
  v.reason = v.signature_reason = "holds " + db->summary();
  return v;
}

// Whether `db` allows what allowed `v` under the anchor verify judged by.
bool allows(const SignatureDatabase& db, const Verdict& v) {
  if (!v.anchor_der.empty())
    return std::find(db.certificates.begin(), db.certificates.end(), v.anchor_der) != db.certificates.end();
  return std::any_of(db.image_digests.begin(), db.image_digests.end(),
                     [&](const ImageDigestEntry& e) { return e.digest == v.anchor_digest; });
}

// The named policies stricter than the firmware (verify.h), on the
// signature the firmware would accept.
void check_named_policies(const PeImage& image, const AuthenticodeReport& report, std::vector<std::string>& policy) {
  if (!image.has_mz_header)
    policy.push_back(
        "policy mz-header: no MZ header (EDK2 reads the PE header at offset 0, but systemd-boot and systemd-stub "
        "find their sections through the MZ header)");
  // An image db allows by its digest carries no signature to judge.
  if (!report.ok() || !report.accepted_by_digest.empty()) return;
  bool strong = false, rsa = false;
  for (const auto& s : report.signatures) {
    if (!s.ok()) continue;
    strong = strong || s.digest_algorithm != "sha1";
    rsa = rsa || s.signer_key_type == "RSA";
    if (s.anchor_der.empty()) return;  // allowed by a db digest the owner listed
  }
  if (!strong)
    policy.push_back("policy sha1-signature: only a SHA-1 signature passes (the firmware accepts it; SHA-1 is broken)");
  if (!rsa) policy.push_back("policy rsa-signer: no passing signature is by an RSA key (imager signs with RSA)");
}

std::string expected_name(ExpectedRole role) {
  switch (role) {
  case ExpectedRole::uki: return "uki";
  case ExpectedRole::bootloader: return "bootloader";
  case ExpectedRole::signature_database: return "db";
  case ExpectedRole::layout: return "layout";
  case ExpectedRole::any: break;
  }
  return "any";
}

// Every digest of a binary in one read, spread over the cores
// (digest_pass.h): the Authenticode digests, and for a UKI its measured
// sections in each PCR bank.
struct HashedBinary {
  AuthenticodeDigests authenticode;
  std::optional<Result<UkiInfo>> uki;  // a UKI's sections, or why they cannot be read
  std::optional<SectionDigests> sections;
};

Status hash_binary(const RandomAccess& file, const PeImage& image, EfiRole role, HashedBinary& out) {
  std::vector<std::vector<DigestTask>> groups;
  auto algorithms = authenticode_algorithms(file, image);
  if (!algorithms) return fail(algorithms.error());
  if (auto ranges = authenticode_ranges(image)) {
    groups.emplace_back();
    for (const auto& a : *algorithms) groups.back().push_back(DigestTask{a, *ranges});
  }
  std::vector<const PeSection*> measured;
  const size_t first_bank_group = groups.size();
  if (role == EfiRole::uki) {
    out.uki = read_uki(file, image);
    if (*out.uki) {
      out.sections.emplace(file);
      measured = measured_sections(**out.uki);
      for (const auto& bank : k_pcr_banks) {
        groups.emplace_back();
        for (const PeSection* sec : measured) {
          uint64_t stored = std::min(sec->virtual_size, sec->raw_size);
          groups.back().push_back(DigestTask{bank, {{sec->raw_offset, stored}}, sec->virtual_size - stored});
        }
      }
    }
  }
  if (auto st = run_digest_pass(file, groups); !st) return st;
  for (size_t g = 0; g < groups.size(); ++g)
    for (size_t t = 0; t < groups[g].size(); ++t) {
      DigestTask& task = groups[g][t];
      if (g >= first_bank_group)
        out.sections->set(measured[t], task.algorithm, std::move(task.digest));
      else
        out.authenticode[task.algorithm] = std::move(task.digest);
    }
  return {};
}

// The signature verdict: the signer shown (the accepted one, else the
// first), and why the image is allowed or not.
void judge_signature(const AuthenticodeReport& report, Verdict& v) {
  v.sha256 = report.sha256;
  for (const auto& s : report.signatures)
    if (s.ok() || v.signer.empty()) {
      v.signer = s.signer_subject;
      v.signer_der = s.signer_der;
      v.anchor_der = s.anchor_der;
      v.anchor_digest = s.anchor_digest;
      if (s.ok()) break;
    }
  v.signature_ok = report.ok();
  if (!report.accepted_by_digest.empty()) {
    v.signature_reason = report.accepted_by_digest;
    v.anchor_digest = from_hex(report.sha256).value_or("");
  } else if (v.signature_ok) {
    const SignatureCheck* s = report.accepted();
    v.signature_reason =
        s->anchor_der.empty() ? "allowed by its " + s->accepted_by + " (signed by " + v.signer + ")" : "signed by " + v.signer;
  } else {
    v.signature_reason = report.problem();
  }
}

// A UKI's policy: the command line and the signed PCR 11 policy of every
// profile, and the .pcrpkey against the given PCR key. Problems go to
// `policy`, what holds to `notes`; an error when a section cannot be read.
Status judge_uki(const RandomAccess& file, const UkiInfo& info, SectionDigests& digests, const VerifyOptions& options, Verdict& v,
                 std::vector<std::string>& policy, std::vector<std::string>& notes) {
  v.cmdline = info.profiles.front().cmdline;
  v.os_version = info.os_version;
  v.has_pcrsig = info.has_pcrsig;
  v.has_pcrpkey = info.pcrpkey.has_value();
  v.pcrpkey = info.pcrpkey;
  std::vector<std::string> ids;
  bool policies_ok = true;
  for (const auto& profile : info.profiles) {
    check_cmdline(profile, options, policy);
    auto pcr = check_pcr_policy(file, profile, info.pcrpkey, digests);
    if (!pcr) return fail(pcr.error());
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
  return {};
}

// ok when the signature and every policy hold; the reason lists what
// failed, else the signature and the notes.
Verdict finish_verdict(Verdict v, const std::vector<std::string>& policy, std::vector<std::string> notes) {
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

Verdict judge_binary(const EfiBinary& binary, const VerifyOptions& options, const SignatureDatabase& db,
                     const SignatureDatabase* dbx) {
  if (binary.expected == ExpectedRole::signature_database) return verify_database(binary);
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
  HashedBinary hashed;
  if (auto st = hash_binary(**file, *image, role, hashed); !st) return failed(st.error().message());
  if (hashed.uki && !*hashed.uki) policy.push_back(hashed.uki->error().message());

  auto report = check_authenticode(**file, *image, db, dbx, &hashed.authenticode);
  if (!report) {
    v.ok = false;
    v.reason = v.signature_reason = report.error().message();
    return v;
  }
  judge_signature(*report, v);
  check_named_policies(*image, *report, policy);

  std::vector<std::string> notes;
  if (hashed.uki && *hashed.uki)
    if (auto st = judge_uki(**file, **hashed.uki, *hashed.sections, options, v, policy, notes); !st) {
      // After the signature verdict, a read error fails the binary but leaves that verdict.
      v.ok = false;
      v.reason = st.error().message();
      v.policy = policy;
      v.policy.push_back(st.error().message());
      return v;
    }
  return finish_verdict(std::move(v), policy, std::move(notes));
}

}  // namespace

Verdict verify_binary(const EfiBinary& binary, const VerifyOptions& options, const SignatureDatabase& db,
                      const SignatureDatabase* dbx) {
  Verdict v = judge_binary(binary, options, db, dbx);
  v.expected = expected_name(binary.expected);
  return v;
}

Result<std::vector<Verdict>> verify_binaries(const std::vector<EfiBinary>& binaries, const VerifyOptions& options) {
  // Each input's own db (its tree's loader/keys/auto/db.auth), for inputs verify judges by it.
  std::map<std::string, std::optional<Result<SignatureDatabase>>> own_db;
  for (const auto& b : binaries) {
    if (b.expected != ExpectedRole::signature_database || own_db.contains(b.input)) continue;
    std::string lower_display;
    for (char c : b.display) lower_display += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower_display.ends_with("!loader/keys/auto/db.auth")) own_db[b.input] = read_database(b);
  }
  std::vector<Verdict> verdicts(binaries.size());
  for (size_t i = 0; i < binaries.size(); ++i) {
    const EfiBinary& b = binaries[i];
    const SignatureDatabase* db = options.db ? &*options.db : nullptr;
    if (db == nullptr && b.expected != ExpectedRole::signature_database && b.expected != ExpectedRole::layout) {
      auto it = own_db.find(b.input);
      if (it == own_db.end() || !it->second)
        return fail(ErrorKind::usage, b.input +
                                          ": give the db to judge it by (--db FILE or --cert CERT.pem); only an ISO "
                                          "carries its own (loader/keys/auto/db.auth)");
      if (!*it->second) return fail(it->second->error());
      db = &**it->second;
    }
    static const SignatureDatabase k_none;
    verdicts[i] = verify_binary(b, options, db != nullptr ? *db : k_none, options.dbx ? &*options.dbx : nullptr);
  }
  // The db an ISO enrols must allow what verify allowed, or every node
  // enrolled from it refuses the images it boots.
  if (options.db) {
    for (size_t i = 0; i < binaries.size(); ++i) {
      if (binaries[i].expected != ExpectedRole::signature_database || !verdicts[i].ok) continue;
      auto db = read_database(binaries[i]);
      if (!db) continue;
      std::vector<std::string> refused;
      for (size_t j = 0; j < binaries.size(); ++j)
        if (binaries[j].input == binaries[i].input && verdicts[j].signature_ok &&
            (!verdicts[j].anchor_der.empty() || !verdicts[j].anchor_digest.empty()) && !allows(*db, verdicts[j]))
          refused.push_back(verdicts[j].path);
      if (refused.empty()) {
        verdicts[i].reason += "; allows every boot binary verify allowed";
        continue;
      }
      verdicts[i].ok = verdicts[i].signature_ok = false;
      verdicts[i].reason = verdicts[i].signature_reason =
          "does not hold what allowed " + join(refused, ", ") + ": nodes enrolled from it will refuse it";
    }
  }
  return verdicts;
}

}  // namespace sbpipe

#include "pipeline/continuity.h"

#include <spdlog/spdlog.h>

#include <regex>

#include "core/file.h"
#include "core/temp_dir.h"
#include "oci/remote_image.h"
#include "oci/session.h"
#include "secureboot/authenticode.h"
#include "secureboot/efi_inputs.h"
#include "secureboot/pcr_policy.h"
#include "secureboot/uki.h"
#include "secureboot/x509.h"

namespace sbpipe {
namespace fs = std::filesystem;

namespace {

// What a node's unseal depends on, for one architecture's UKI.
struct Facts {
  std::string arch;
  std::optional<std::string> pcrpkey;
  std::string signer_der;
  std::string signer_subject;
};

std::string arch_of_machine(const std::string& machine) {
  return machine == "aa64" ? "arm64" : machine == "x64" ? "amd64" : machine;
}

// (major, minor, patch, is_release) of a version tag; nullopt when it is
// none. Numbers have at most 9 digits (a tag such as v99999999999.0.0 is no
// version: it must not end in an out-of-range error, issue 30).
std::optional<std::tuple<int, int, int, int>> version_key(const std::string& tag) {
  static const std::regex k_version(R"(v?(\d{1,9})\.(\d{1,9})\.(\d{1,9})(-[0-9A-Za-z.-]+)?)");
  std::smatch m;
  if (!std::regex_match(tag, m, k_version)) return std::nullopt;
  return std::tuple{std::stoi(m[1]), std::stoi(m[2]), std::stoi(m[3]), m[4].matched ? 0 : 1};
}

// The highest version tag below `version`.
std::optional<std::string> previous_tag(const std::vector<std::string>& tags, const std::string& version) {
  auto current = version_key(version);
  std::optional<std::string> best;
  for (const auto& t : tags) {
    auto k = version_key(t);
    if (!k || (current && *k >= *current) || t == version) continue;
    if (!best || *k > *version_key(*best)) best = t;
  }
  return best;
}

Facts facts_of_uki(const fs::path& path, const std::string& arch) {
  Facts f;
  f.arch = arch;
  auto file = open_random_access(path);
  if (!file) return f;
  auto image = parse_pe(**file);
  if (!image) return f;
  if (auto uki = read_uki(**file, *image)) f.pcrpkey = uki->pcrpkey;
  if (auto report = check_authenticode(**file, *image, {}); report && !report->signatures.empty()) {
    f.signer_der = report->signatures.front().signer_der;
    f.signer_subject = report->signatures.front().signer_subject;
  }
  return f;
}

// The previous release's installer, pulled with the bounds of
// oci/remote_image.h and unpacked as the node unpacks it.
class PreviousInstaller {
public:
  PreviousInstaller(Registry& registry, const fs::path& scratch, RemoteLimits limits)
      : m_registry(registry), m_scratch(scratch), m_limits(limits) {}

  // The UKI facts of every architecture the manifest (or index) at `reference` holds.
  Result<std::vector<Facts>> facts(const std::string& reference) {
    static const std::regex k_uki(R"(.*!usr/install/([^/]+)/vmlinuz\.efi(\.signed)?)");
    auto pulled = load_remote_images(m_registry, reference, m_scratch, m_limits);
    if (!pulled) return fail(pulled.error());
    m_digest = pulled->digest.str();
    std::vector<Facts> out;
    for (size_t i = 0; i < pulled->images.size(); ++i) {
      const LocalImage& image = pulled->images[i];
      fs::path dir = m_scratch / ("image-" + std::to_string(i));
      std::error_code ec;
      fs::create_directories(dir, ec);
      if (ec) return fail(ErrorKind::io, dir.string() + ": " + ec.message());
      auto binaries = installer_boot_files(image, dir);
      if (!binaries) return fail(binaries.error());
      for (const auto& b : *binaries) {
        if (b.expected == ExpectedRole::layout && !b.problem.empty())
          return fail(ErrorKind::invalid_input, "the previous installer " + b.display + " " + b.problem);
        std::smatch m;
        if (b.expected != ExpectedRole::uki || !std::regex_match(b.display, m, k_uki)) continue;
        out.push_back(
            facts_of_uki(b.file, image.platform.architecture.empty() ? std::string(m[1]) : image.platform.architecture));
      }
    }
    if (out.empty()) return fail(ErrorKind::invalid_input, "the previous installer holds no usr/install/<arch>/vmlinuz.efi");
    return out;
  }
  const std::string& digest() const { return m_digest; }

private:
  Registry& m_registry;
  fs::path m_scratch;
  RemoteLimits m_limits;
  std::string m_digest;
};

std::string fingerprint_or(const std::optional<std::string>& pem) {
  if (!pem) return "(none)";
  auto f = pcr_key_fingerprint(*pem);
  return f ? f->substr(0, 16) : "(unreadable)";
}

// The previous release's installer: its reference (tag picked when the
// request names only a repository) and a pull session to its registry;
// first_release when the repository holds no earlier version.
struct Previous {
  ImageRef ref;
  RegistrySession session;
  bool first_release = false;
};

Result<Previous> open_previous(const ContinuityRequest& request) {
  auto ref = ImageRef::parse(request.previous_ref, "--previous-ref");
  bool pick_tag = false;
  if (!ref) {
    ref = ImageRef::parse(request.previous_ref + ":latest", "--previous-ref");
    if (!ref)
      return fail(ErrorKind::usage, "--previous-ref '" + request.previous_ref + "': expected REGISTRY/REPO[:TAG][@sha256:...]");
    ref->tag.clear();
    pick_tag = true;
  }
  auto credentials = registry_credentials(ref->registry, request.registry);
  if (!credentials) return fail(credentials.error());
  SessionOptions options = session_options(request.registry);
  auto session =
      open_registry_session(ref->api_host(), ref->repository, *credentials, {"repository:" + ref->repository + ":pull"}, options);
  if (!session) return fail(session.error());
  Previous previous{*ref, std::move(*session)};
  if (pick_tag) {
    auto tags = previous.session.registry->list_tags();
    if (!tags) return fail(tags.error().with_context("previous release"));
    auto tag = previous_tag(*tags, request.version);
    if (!tag)
      previous.first_release = true;
    else
      previous.ref.tag = *tag;
  }
  return previous;
}

std::string previous_name(const ImageRef& ref, const std::string& digest) {
  return ref.registry + "/" + ref.repository + (ref.tag.empty() ? "" : ":" + ref.tag) + "@" + digest;
}

}  // namespace

Result<ContinuityReport> find_previous_release(const ContinuityRequest& request) {
  auto previous = open_previous(request);
  if (!previous) return fail(previous.error());
  ContinuityReport report;
  report.first_release = previous->first_release;
  if (report.first_release) return report;
  const ImageRef& ref = previous->ref;
  auto head = previous->session.registry->head_manifest(ref.digest.empty() ? ref.tag : ref.digest);
  if (!head) return fail(head.error().with_context("previous release " + ref.str()));
  if (!*head) return fail(ErrorKind::not_found, "previous release " + ref.str() + ": no such manifest in the registry");
  report.previous = previous_name(ref, (*head)->digest.str());
  return report;
}

std::string rotation_advice() {
  return "if the change is intended, first give every TPM-sealed node a way back in (re-seal its disk to the new key after "
         "upgrading, or add a recovery key slot), then run again with --allow-key-rotation, which records the rotation in "
         "the release notes";
}

Result<ContinuityReport> check_continuity(const std::vector<Verdict>& verdicts, const ContinuityRequest& request) {
  ContinuityReport report;
  std::vector<Facts> current;
  for (const auto& v : verdicts)
    if (v.role == "uki" && v.ok) current.push_back(Facts{arch_of_machine(v.machine), v.pcrpkey, v.signer_der, v.signer});
  if (current.empty()) return report;

  auto previous_release = open_previous(request);
  if (!previous_release) return fail(previous_release.error());
  if (previous_release->first_release) {
    report.first_release = true;
    return report;
  }
  const ImageRef* ref = &previous_release->ref;
  Registry& registry = *previous_release->session.registry;
  auto scratch = ScratchDir::create("sbpipe-continuity");
  if (!scratch) return fail(scratch.error());
  RemoteLimits limits;
  limits.deadline = request.pull_timeout;
  PreviousInstaller previous(registry, scratch->path(), limits);
  auto before = previous.facts(ref->digest.empty() ? ref->tag : ref->digest);
  if (!before) return fail(before.error().with_context("previous release " + ref->str()));
  report.previous = previous_name(*ref, previous.digest());

  for (const auto& now : current) {
    const Facts* was = nullptr;
    for (const auto& b : *before)
      if (b.arch == now.arch || before->size() == 1) was = &b;
    if (was == nullptr) continue;  // a new architecture: no node runs it yet
    bool same_key = now.pcrpkey && was->pcrpkey && same_public_key(*now.pcrpkey, *was->pcrpkey).value_or(false);
    if (!same_key)
      report.changes.push_back(now.arch + ": the PCR signing key changed (" + fingerprint_or(was->pcrpkey) + " in " +
                               report.previous + ", " + fingerprint_or(now.pcrpkey) +
                               " now): nodes whose disks are sealed to the previous key "
                               "cannot unseal STATE and EPHEMERAL after upgrading");
    if (now.signer_der != was->signer_der)
      report.changes.push_back(now.arch + ": the UKI signing certificate changed (" + was->signer_subject + " in " +
                               report.previous + ", " + now.signer_subject +
                               " now): PCR 7 changes, so nodes sealed to it cannot unseal their "
                               "disks, and nodes whose db lacks the new certificate refuse to boot it");
  }
  return report;
}

}  // namespace sbpipe

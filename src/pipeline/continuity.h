#pragma once
// Continuity with what nodes run today: a node that runs the previous
// release and upgrades to this build must boot it and unseal its disk.
// Talos seals the disk key to PolicyAuthorize by the PCR public key in the
// UKI (.pcrpkey) plus PCR 7, the SecureBoot state, which holds the db
// certificate that verified the booted image (siderolabs/talos
// internal/pkg/secureboot/tpm2/seal.go). So between the previous release's
// installer and this build, `.pcrpkey` and the UKI's signing certificate
// must not change, or every TPM-sealed node that upgrades is locked out of
// STATE and EPHEMERAL.

#include <chrono>
#include <string>
#include <vector>

#include "pipeline/steps.h"
#include "secureboot/verify.h"

namespace sbpipe {

struct ContinuityRequest {
  // The previous installer: REGISTRY/REPO:TAG or @sha256:..., or only
  // REGISTRY/REPO, then the highest version tag below `version`.
  std::string previous_ref;
  std::string version;  // the version being built
  RegistryAccess registry;
  // The whole pull of the previous installer (oci/remote_image.h's other
  // bounds apply too).
  std::chrono::milliseconds pull_timeout{600'000};
};

struct ContinuityReport {
  std::string previous;              // REGISTRY/REPO:TAG@sha256:... compared with; empty: none
  bool first_release = false;        // the repository holds no earlier version
  std::vector<std::string> changes;  // what changed, what nodes will do (empty: continuous)
  bool ok() const { return changes.empty(); }
};

// Compares the UKIs among `verdicts` (this build, verified) with the
// previous release's installer UKIs, pulled from the registry (every
// architecture of an index). Errors: the reference is malformed (usage),
// the registry cannot be read, or the previous image holds no UKI.
Result<ContinuityReport> check_continuity(const std::vector<Verdict>& verdicts, const ContinuityRequest& request);

// What check_continuity needs from the previous release, looked up before
// there is a build to compare (run's preflight): the previous installer
// resolved to its digest (report.previous), or first_release. The same
// errors as check_continuity's, and not_found for a named reference the
// registry does not hold. No comparison is made (changes stays empty).
Result<ContinuityReport> find_previous_release(const ContinuityRequest& request);

// "what to do" for a failed report: the rotation procedure, in one text.
std::string rotation_advice();

}  // namespace sbpipe

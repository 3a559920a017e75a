#pragma once
// Turning a pre-release (or a draft) into a release, once everything it
// promises is in place:
//   - the release still matches the pin: its tag, and the state the run
//     started from (a release that was a pre-release when the run started
//     and is a draft now was unpublished by its owner: refused);
//   - sha256sum.txt lists exactly the assets of the release (sha512sum.txt
//     the same names; an old sha256sums.txt alone is still accepted): no
//     asset is unlisted, none listed is absent or incomplete, and every one
//     has the listed digest (a directory's files are read and both digests
//     checked);
//   - with the owner's public key: every listed asset (but the bundles) and
//     both checksum files have a sigstore bundle NAME.sigstore.json that
//     verifies for their digest (release_signatures.h);
//   - the installer reference (given, else the one the notes name from an
//     earlier finalize) exists in the registry.
// Then one change flips it and writes the sbpipe section of the notes. A
// release already in that state is left alone, so finalize can run any
// number of times.

#include <functional>
#include <string>

#include "release/target.h"
#include "sigstore/keys.h"

namespace sbpipe {

struct FinalizeRequest {
  ReleasePin pin;
  MakeLatest make_latest = MakeLatest::yes;
  // The notes' facts. An empty installer_ref keeps the one the notes name
  // already; checksums are filled in from sha256sum.txt.
  ReleaseFacts facts;
  // Checks an installer reference in the registry; empty: no check.
  std::function<Status(const std::string& ref)> check_installer;
  // The owner's public key: the bundles must verify with it; nullptr: no check.
  const PublicKey* signing_key = nullptr;
};

struct FinalizeResult {
  ReleaseInfo release;  // as it is after finalize
  bool changed = false;
  ChecksumList checksums;
};

// invalid_input (exit 1) naming every problem, leaving the release as it
// was; not_found for a release that does not exist (a directory never
// published to); the target's and the installer check's own errors.
Result<FinalizeResult> finalize_release(ReleaseTarget& target, const FinalizeRequest& request);

}  // namespace sbpipe

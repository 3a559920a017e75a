#pragma once
// `sbpipe run`'s preflight: what would make the run fail after minutes of
// imager, checked before imager starts (and by `run --dry-run`), the way
// `goreleaser check` and `terraform plan` fail fast. One row per check, each
// a small function against the runner's seams (run_env.h), so the decisions
// are tested with tests/support/fakes_runner.h:
//   keys            the key set imager signs with (secureboot/keys.h, as `keys check`)
//   certificate     the certificate verify checks against, and that it is the UKI key's
//   pcr public key  the PCR public key verify compares every UKI with
//   publish access  the GitHub token may push to the repository (ReleaseTarget::check_access)
//   release         the release exists and is a pre-release or a draft
//   registry        the registry lets the credentials push (an upload opened and cancelled)
//   imager engine   the program of run.imager_command exists; docker/podman answer `info`
//   continuity      the previous release continuity compares with can be found
// Nothing here changes remote state or reads a private key's bits into a
// result; a check that cannot be made is a FAIL naming why.

#include <string>
#include <string_view>
#include <vector>

#include "pipeline/run_config.h"
#include "pipeline/run_env.h"

namespace sbpipe {

enum class PreflightResult { ok, warn, fail, skip };
// "ok", "warn", "FAIL", "skip" (as keys check writes its levels).
std::string_view preflight_result_name(PreflightResult result);

struct PreflightRow {
  std::string check;  // "keys", "release", ...
  PreflightResult result = PreflightResult::ok;
  std::string detail;  // never a secret
};

// The seams the checks use. `release` is null when the target could not be
// opened (no GitHub token): `release_problem` says why, and the publish
// access and release rows FAIL with it.
struct PreflightEnv {
  Clock& clock;
  ProcessRunner& processes;
  InstallerRegistry& installers;
  ReleaseTarget* release = nullptr;
  std::string release_problem;
};

// Every check, in the order above; never fails as a whole.
std::vector<PreflightRow> run_preflight(const std::string& tag, const RunSettings& settings, const PreflightEnv& env);

// ok when no row FAILed; else invalid_input "preflight: N check(s) failed
// (keys, registry); imager was not started".
Status preflight_status(const std::vector<PreflightRow>& rows);

}  // namespace sbpipe

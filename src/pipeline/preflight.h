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
//   continuity      the configured UKI certificate and PCR public key are the
//                   previous release's (what verify's continuity check will
//                   compare after the build), so a rotation is caught first
//   source          run.source_dir holds the tag (the provenance's commit)
//   disk space      the state directory has room for imager's outputs
// and, first, the version's lock: a run another process holds is named
// before any network check (terraform takes its lock before it plans).
//
// `sbpipe serve --executor local` (at start and for /readyz) and `sbpipe
// config check --run` check what every run will need, without a tag:
// service_checks (keys, certificate, pcr public key, github token,
// registry credentials, imager engine, state dir, disk space).
// Nothing here changes remote state or reads a private key's bits into a
// result; a check that cannot be made is a FAIL naming why.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
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
// Free bytes for an unprivileged user on the file system holding `path`;
// nullopt when it cannot be told.
using FreeSpace = std::function<std::optional<uint64_t>(const std::filesystem::path& path)>;
std::optional<uint64_t> real_free_space(const std::filesystem::path& path);

// What a run's state directory needs free: imager's outputs of one version
// (installer, ISOs, network-boot files) are about 1-2 GiB.
inline constexpr uint64_t k_min_free_bytes = uint64_t{2} << 30;

struct PreflightEnv {
  Clock& clock;
  ProcessRunner& processes;
  InstallerRegistry& installers;
  ReleaseTarget* release = nullptr;
  std::string release_problem;
  FreeSpace free_space = real_free_space;
  // The run waits for another run of the version (--wait): a held lock is
  // then a warning, not a failure.
  bool waits_for_lock = false;
  // The plan's architectures (the continuity row compares each).
  std::vector<std::string> architectures{"amd64"};
  // --allow-key-rotation: a changed key or certificate is a warning.
  bool allow_key_rotation = false;
};

// Every check, in the order above; never fails as a whole.
std::vector<PreflightRow> run_preflight(const std::string& tag, const RunSettings& settings, const PreflightEnv& env);

// What every run of this configuration needs, checked without a tag or the
// network: the rows listed above. `state_dir` is where runs keep their
// state (run.state_dir, else the default).
std::vector<PreflightRow> service_checks(const RunSettings& settings, const std::filesystem::path& state_dir,
                                         const PreflightEnv& env);

// ok when no row FAILed; else invalid_input "preflight: N check(s) failed
// (keys, registry); imager was not started".
Status preflight_status(const std::vector<PreflightRow>& rows);

}  // namespace sbpipe

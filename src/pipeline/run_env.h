#pragma once
// What `sbpipe run` (runner.h) reaches outside its own logic, as one
// bundle of interfaces built once by the caller (cli/run.cpp builds the real
// ones; tests/support/fakes_runner.h has recording fakes that fail on
// command). The runner's decisions (resume from the journal, the
// plan-changed refusal, the verify gate, the changed-output refusal, the
// order of steps) then run without processes, registries or a release,
// as ninja's Builder runs against its CommandRunner.
//
// The runner still reads and writes its own state directory (journal,
// outputs) with the real file system: tests give it a temporary one.

#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "core/process_runner.h"
#include "pipeline/continuity.h"
#include "pipeline/steps.h"
#include "release/target.h"
#include "secureboot/verify.h"

namespace sbpipe {

// The SecureBoot gate's checks on files imager wrote: the options from the
// public certificate and PCR key (verify_options), then every EFI binary in
// `paths` with its verdict (verify_inputs). A failed verdict is a verdict,
// not an error; errors are inputs that cannot be read or hold no binary.
class Verifier {
public:
  virtual ~Verifier() = default;
  virtual Result<std::vector<Verdict>> verify(const std::vector<std::string>& paths, const VerifyRequest& request) = 0;
};

// The installer registry as the runner uses it: push this build's
// installer (steps.h push_installer), compare with the previous release's
// (continuity.h), and check before finalize that the pushed reference still
// stands (steps.h check_installer).
class InstallerRegistry {
public:
  virtual ~InstallerRegistry() = default;
  virtual Result<PushedInstaller> push(const InstallerPush& request) = 0;
  virtual Result<ContinuityReport> continuity(const std::vector<Verdict>& verdicts, const ContinuityRequest& request) = 0;
  virtual Status check(const std::string& ref, const RegistryAccess& access) = 0;
  // Whether `ref` and its per-arch manifests carry a signature by `key`
  // where Talos looks (steps.h check_installer_signed).
  virtual Status check_signed(const std::string& ref, const RegistryAccess& access, const PublicKey& key) = 0;
  // The preflight's questions, answered without pushing or pulling a layer:
  // may these credentials push `ref` (steps.h check_push_access), and which
  // previous release would continuity compare with (continuity.h
  // find_previous_release).
  virtual Status check_push(const std::string& ref, const RegistryAccess& access) = 0;
  virtual Result<ContinuityReport> previous_release(const ContinuityRequest& request) = 0;
};

// The images a build feeds imager, as the runner checks them when
// imager.image_verification has rules: each tag resolved to the digest it
// names (steps.h resolve_image_digest), then every pinned input against the
// rules (steps.h check_plan_inputs), before imager gets the keys.
class InputImages {
public:
  virtual ~InputImages() = default;
  virtual Result<std::string> resolve(const ImageRef& ref, const RegistryAccess& access) = 0;
  virtual Status check(const Plan& plan, const ImageVerificationRules& rules, const RegistryAccess& access) = 0;
};

// References only: the caller owns every part and keeps it alive for the run.
struct RunEnv {
  Clock& clock;
  ProcessRunner& processes;
  Verifier& verifier;
  InstallerRegistry& installers;
  ReleaseTarget& release;  // where the release is published (release/target.h)
  InputImages& inputs;
};

// The real parts: real_process_runner() (core/process_runner.h); verify_options + verify_inputs; push_installer
// (its back-off timed by `clock`), check_continuity and check_installer.
// Each is stateless and thread-safe.
Verifier& real_verifier();
class RegistryInstallers final : public InstallerRegistry {
public:
  explicit RegistryInstallers(Clock& clock) : m_clock(clock) {}
  Result<PushedInstaller> push(const InstallerPush& request) override;
  Result<ContinuityReport> continuity(const std::vector<Verdict>& verdicts, const ContinuityRequest& request) override;
  Status check(const std::string& ref, const RegistryAccess& access) override;
  Status check_signed(const std::string& ref, const RegistryAccess& access, const PublicKey& key) override;
  Status check_push(const std::string& ref, const RegistryAccess& access) override;
  Result<ContinuityReport> previous_release(const ContinuityRequest& request) override;

private:
  Clock& m_clock;
};
InputImages& registry_inputs();

}  // namespace sbpipe

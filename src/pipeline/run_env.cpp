#include "pipeline/run_env.h"

namespace sbpipe {
namespace {

class ChildProcesses final : public ProcessRunner {
public:
  Result<int> run(const ChildSpec& spec) override { return run_child(spec); }
};

class EfiVerifier final : public Verifier {
public:
  Result<std::vector<Verdict>> verify(const std::vector<std::string>& paths, const VerifyRequest& request) override {
    auto options = verify_options(request);
    if (!options) return fail(options.error());
    return verify_inputs(paths, *options);
  }
};

}  // namespace

ProcessRunner& real_process_runner() {
  static ChildProcesses runner;
  return runner;
}

Verifier& real_verifier() {
  static EfiVerifier verifier;
  return verifier;
}

Result<PushedInstaller> RegistryInstallers::push(const InstallerPush& request) { return push_installer(request, m_clock); }

Result<ContinuityReport> RegistryInstallers::continuity(const std::vector<Verdict>& verdicts, const ContinuityRequest& request) {
  return check_continuity(verdicts, request);
}

Status RegistryInstallers::check(const std::string& ref, const RegistryAccess& access) { return check_installer(ref, access); }

}  // namespace sbpipe

#include "pipeline/run_env.h"

namespace sbpipe {
namespace {

class EfiVerifier final : public Verifier {
public:
  Result<std::vector<Verdict>> verify(const std::vector<std::string>& paths, const VerifyRequest& request) override {
    return verify_build(paths, request);
  }
};

class RegistryInputs final : public InputImages {
public:
  Result<std::string> resolve(const ImageRef& ref, const RegistryAccess& access) override {
    return resolve_image_digest(ref, access);
  }
  Status check(const Plan& plan, const ImageVerificationRules& rules, const RegistryAccess& access) override {
    return check_plan_inputs(plan, rules, access);
  }
};

}  // namespace

InputImages& registry_inputs() {
  static RegistryInputs inputs;
  return inputs;
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

Status RegistryInstallers::check_signed(const std::string& ref, const RegistryAccess& access, const PublicKey& key) {
  return check_installer_signed(ref, access, key, "run.sign_key's public key");
}

Status RegistryInstallers::check_push(const std::string& ref, const RegistryAccess& access) {
  return check_push_access(ref, access);
}

Result<ContinuityReport> RegistryInstallers::previous_release(const ContinuityRequest& request) {
  return find_previous_release(request);
}

}  // namespace sbpipe

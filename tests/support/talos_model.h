#pragma once
// The Talos imager model (scripts/standin-imager, scripts/talos_model/) as
// the tests drive it: the owner's key set as `talosctl gen secureboot` makes
// it, and one imager invocation per call, per Talos line.

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "support/process.h"

namespace sbpipe::test {

namespace fs = std::filesystem;

inline const std::string k_model = source_dir() + "/scripts/standin-imager";

// A Talos line of the model: the imager code line and the version it builds.
struct TalosLine {
  std::string line;     // STANDIN_TALOS
  std::string version;  // STANDIN_VERSION, also the release tag
};
// 1.9 (objcopy UKIs, empty installer platform, GRUB plain ISO), 1.11
// (profiles, hybrid ISO), 1.13 (OCI-compliant installer config), 1.14 (no
// lockdown default, random seed, enrolment flag, exit codes).
const std::vector<TalosLine>& model_lines();

// uki-signing-key.pem / uki-signing-cert.pem / pcr-signing-key.pem in `dir`
// (PKCS#1 RSA, as talosctl gen secureboot writes them; 2048-bit UKI key to
// keep the tests quick), and pcr-signing-key.pub.pem beside them.
void make_owner_keys(const fs::path& dir, const std::string& cn = "Owner UKI");

// The model's environment for a line, plus `extra`.
std::map<std::string, std::string> model_env(const TalosLine& line, std::map<std::string, std::string> extra = {});

// Runs the model: `args` as imager's (profile first), writing into `out`,
// keys from `keys`. Throws with its stderr when it fails.
void run_model(const std::vector<std::string>& args, const fs::path& out, const fs::path& keys, const TalosLine& line,
               const std::map<std::string, std::string>& env = {});
// The same, returning the result instead of throwing.
RunResult try_model(const std::vector<std::string>& args, const fs::path& out, const fs::path& keys, const TalosLine& line,
                    const std::map<std::string, std::string>& env = {});

// The default lockdown arguments sbpipe plans for SecureBoot outputs.
inline const std::vector<std::string> k_lockdown_args{"--extra-kernel-arg", "-lockdown", "--extra-kernel-arg",
                                                      "lockdown=integrity"};

}  // namespace sbpipe::test

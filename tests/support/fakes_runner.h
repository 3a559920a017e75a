#pragma once
// Recording fakes for the runner's seams (src/pipeline/run_env.h), in the
// manner of ninja's FakeCommandRunner (src/build_test.cc) and leveldb's
// fault-injecting Env wrappers (db/db_test.cc): each records what it was
// asked, in order, into `calls`, and fails when told to. The release target
// is tests/support/fake_target.h's FakeTarget and the clock tests/unit/fakes.h's
// FakeClock.

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "pipeline/run_env.h"

namespace sbpipe::test {

// Plays imager: the run's command template is {"imager", "{out}", "{args}"},
// so argv[1] is the staging directory the runner made, named
// "imager-<invocation>"; the fake writes that invocation's output file
// there (content "<name> build <n>", n counting this fake's runs) unless
// told otherwise. Records "imager <invocation>". A preflight's engine probe
// ("ENGINE info", ENGINE in `programs`) records "ENGINE info" and exits
// with `info_status`; find_program knows only `programs`.
class FakeImager final : public ProcessRunner {
public:
  std::set<std::string> programs{"imager"};  // what find_program finds
  int info_status = 0;
  std::map<std::string, std::string> output_files;  // invocation name → the file it writes
  std::map<std::string, int> exit_status;           // invocation name → status to exit with (no file)
  std::set<std::string> cannot_start;               // invocation names whose start fails (io error)
  std::set<std::string> write_nothing;              // succeed but write no file
  std::vector<std::string> calls;
  std::vector<ChildSpec> specs;

  std::optional<std::string> find_program(const std::string& name) override {
    if (!programs.contains(name)) return std::nullopt;
    return "/usr/bin/" + name;
  }

  bool signal_group(pid_t, int) override { return false; }  // run() returns before anyone could signal

  Result<int> run(const ChildSpec& spec) override {
    specs.push_back(spec);
    if (spec.argv.size() == 2 && spec.argv[1] == "info" && programs.contains(spec.argv[0])) {
      calls.push_back(spec.argv[0] + " info");
      return info_status;
    }
    if (spec.argv.size() < 2) return fail(ErrorKind::usage, "fake imager: no output directory in the command line");
    std::filesystem::path dir = spec.argv[1];
    std::string name = dir.filename().string();
    if (name.rfind("imager-", 0) != 0) return fail(ErrorKind::usage, "fake imager: unexpected directory " + dir.string());
    name = name.substr(7);
    calls.push_back("imager " + name);
    if (cannot_start.contains(name)) return fail(ErrorKind::io, "imager: No such file or directory");
    if (auto it = exit_status.find(name); it != exit_status.end()) return it->second;
    if (write_nothing.contains(name)) return 0;
    auto file = output_files.find(name);
    if (file == output_files.end()) return fail(ErrorKind::usage, "fake imager: no output file for " + name);
    std::ofstream(dir / file->second) << name << " build " << calls.size();
    return 0;
  }
};

// The SecureBoot gate: one verdict per path, passing unless `reject` names
// the path's file name. Records "verify <file name>..." (one call).
class FakeVerifier final : public Verifier {
public:
  std::set<std::string> reject;  // file names whose verdict fails
  std::optional<Error> error;    // the whole call fails with this
  std::vector<std::string> calls;
  std::vector<VerifyRequest> requests;

  Result<std::vector<Verdict>> verify(const std::vector<std::string>& paths, const VerifyRequest& request) override {
    std::string call = "verify";
    for (const auto& p : paths) call += " " + std::filesystem::path(p).filename().string();
    calls.push_back(call);
    requests.push_back(request);
    if (error) return fail(*error);
    std::vector<Verdict> verdicts;
    for (const auto& p : paths) {
      Verdict v;
      v.path = p;
      v.role = "uki";
      v.ok = !reject.contains(std::filesystem::path(p).filename().string());
      v.reason = v.ok ? "signed by the test signer" : "no signature by the certificate";
      v.signer = "CN=test signer";
      verdicts.push_back(v);
    }
    return verdicts;
  }
};

// The installer registry: push answers `digest`; continuity answers a first
// release unless `changes` is set; check passes unless `check_error`;
// check_push passes unless `push_access_error`; previous_release answers
// `previous` ("" a first release) unless `previous_error`. Records
// "push REF", "continuity PREVIOUS", "check REF", "check push REF",
// "previous PREVIOUS".
// Resolves every tag to a digest made from its name (or `moved`'s, for a
// tag moved since), and checks a plan by `check_error`; records each call.
class FakeInputs final : public InputImages {
public:
  std::optional<Error> check_error;
  std::map<std::string, std::string> moved;  // ref -> digest it names now
  std::vector<std::string> calls;
  std::vector<Plan> checked;

  static std::string digest_of(const std::string& ref) {
    std::string hex;
    for (char c : ref) hex += "0123456789abcdef"[static_cast<unsigned char>(c) % 16];
    hex.resize(64, '0');
    return "sha256:" + hex;
  }
  Result<std::string> resolve(const ImageRef& ref, const RegistryAccess&) override {
    calls.push_back("resolve " + ref.str());
    auto it = moved.find(ref.str());
    return it != moved.end() ? it->second : digest_of(ref.str());
  }
  Status check(const Plan& plan, const ImageVerificationRules&, const RegistryAccess&) override {
    calls.push_back("check " + std::to_string(plan.inputs.size()) + " inputs");
    checked.push_back(plan);
    if (check_error) return fail(*check_error);
    return {};
  }
};

class FakeInstallers final : public InstallerRegistry {
public:
  std::string digest = "sha256:" + std::string(64, 'a');
  std::optional<Error> push_error;
  std::optional<Error> check_error;
  std::vector<std::string> changes;  // non-empty: continuity reports these against "<previous>:v1.8.0@<digest>"
  std::optional<Error> push_access_error;
  std::optional<Error> previous_error;
  std::string previous;  // what previous_release answers; "": a first release
  std::vector<std::string> calls;
  std::vector<InstallerPush> pushes;
  std::vector<Verdict> continuity_verdicts;  // what the last continuity call was given

  Result<PushedInstaller> push(const InstallerPush& request) override {
    calls.push_back("push " + request.ref);
    pushes.push_back(request);
    if (push_error) return fail(*push_error);
    return PushedInstaller{request.ref, digest, true};
  }
  Result<ContinuityReport> continuity(const std::vector<Verdict>& verdicts, const ContinuityRequest& request) override {
    calls.push_back("continuity " + request.previous_ref);
    continuity_verdicts = verdicts;
    ContinuityReport report;
    if (changes.empty()) {
      report.first_release = true;
      return report;
    }
    report.previous = request.previous_ref + ":v1.8.0@" + digest;
    report.changes = changes;
    return report;
  }
  Status check(const std::string& ref, const RegistryAccess&) override {
    calls.push_back("check " + ref);
    if (check_error) return fail(*check_error);
    return {};
  }
  // Passes when the last push was given a sign key.
  Status check_signed(const std::string& ref, const RegistryAccess&, const PublicKey&) override {
    calls.push_back("check signed " + ref);
    if (pushes.empty() || pushes.back().sign_key.empty())
      return fail(ErrorKind::invalid_input, ref + " is not signed by run.sign_key's public key: no signature");
    return {};
  }
  Status check_push(const std::string& ref, const RegistryAccess&) override {
    calls.push_back("check push " + ref);
    if (push_access_error) return fail(*push_access_error);
    return {};
  }
  Result<ContinuityReport> previous_release(const ContinuityRequest& request) override {
    calls.push_back("previous " + request.previous_ref);
    if (previous_error) return fail(*previous_error);
    ContinuityReport report;
    report.previous = previous;
    report.first_release = previous.empty();
    return report;
  }
};

}  // namespace sbpipe::test

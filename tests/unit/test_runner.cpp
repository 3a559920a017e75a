// The runner's decisions (src/pipeline/local_run.cpp) against the fakes of
// its seams (tests/support/fakes_runner.h): a fresh run's step order,
// resume from the journal, the plan-changed refusal, the verify gate, the
// changed-output refusal and imager's failures, one case per behaviour,
// each comparing the exact message. The state directory is a real
// temporary one. The kill -9 windows stay integration tests
// (tests/integration/test_run.cpp).

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <functional>

#include "core/temp_dir.h"
#include "pipeline/imager_exit.h"
#include "pipeline/run_config.h"
#include "pipeline/run_env.h"
#include "pipeline/run_state.h"
#include "pipeline/runner.h"
#include "support/fake_target.h"
#include "support/fakes_runner.h"
#include "support/fault_injection.h"
#include "unit/fakes.h"

using namespace sbpipe;
using namespace sbpipe::test;
namespace fs = std::filesystem;
using Strings = std::vector<std::string>;

namespace {

const std::string k_tag = "v1.9.0";
const std::string k_repository = "registry.test/talos/installer";

template <typename T>
std::string message_of(const Result<T>& r) {
  return r ? std::string("(succeeded)") : r.error().message();
}

// One version's run against fakes, in a scratch state directory; run()
// may be called again to resume, as a re-run of `sbpipe run` would.
struct RunnerFixture {
  ScratchDir scratch = std::move(*ScratchDir::create("sbpipe-runner"));
  RunSettings settings;
  PlanConfig plan;
  RunRequest request{k_tag};
  FakeClock clock;
  FakeImager imager;
  FakeVerifier verifier;
  FakeInstallers installers;
  FakeTarget target;
  FakeInputs inputs;

  RunnerFixture() {
    fs::path keys = scratch.path() / "keys";
    fs::create_directories(keys);
    std::ofstream(keys / "uki-signing-cert.pem") << "certificate\n";
    std::ofstream(keys / "pcr-signing-key.pub.pem") << "public key\n";
    settings.keys_dir = keys.string();
    settings.state_dir = (scratch.path() / "state").string();
    settings.imager_command = {"imager", "{out}", "{args}"};
    settings.imager_output = "{out}";
    settings.installer_repository = k_repository;
    plan.outputs = {"secureboot-installer", "secureboot-iso"};
    plan.pxe = false;
    target.info.tag = k_tag;
    imager.output_files = {{"secureboot-installer-amd64", "installer-amd64-secureboot.tar"},
                           {"secureboot-iso-amd64", "metal-amd64-secureboot.iso"}};
  }

  Result<RunResult> run() {
    RunEnv env{clock, imager, verifier, installers, target, inputs};
    return run_pipeline(request, settings, plan, env);
  }
  // A first run that stops at the push (the registry resets the
  // connection), with everything before it journaled; the fakes' records
  // are then cleared.
  void run_until_push() {
    installers.push_error = Error(ErrorKind::transient, "registry.test: connection reset");
    auto first = run();
    REQUIRE(message_of(first) == "push-installer: registry.test: connection reset");
    installers.push_error.reset();
    installers.calls.clear();
    target.calls.clear();
  }
  fs::path out(const std::string& file) const { return fs::path(settings.state_dir) / k_tag / "out" / file; }
};

}  // namespace

TEST_SUITE("unit") {
TEST_CASE("runner: a fresh run builds, verifies, pushes, uploads and finalizes, each once and in that order") {
  RunnerFixture f;
  auto steps = f.run();
  REQUIRE_MESSAGE(steps, message_of(steps));
  CHECK(f.imager.calls == Strings{"imager secureboot-installer-amd64", "imager secureboot-iso-amd64"});
  CHECK(f.verifier.calls == Strings{"verify installer-amd64-secureboot.tar metal-amd64-secureboot.iso"});
  CHECK(f.verifier.requests.at(0).cert_file == f.settings.keys_dir + "/uki-signing-cert.pem");
  CHECK(f.verifier.requests.at(0).talos_version == k_tag);  // every UKI's VERSION_ID must name the tag
  const std::string ref = k_repository + ":" + k_tag;
  CHECK(f.installers.calls == Strings{"continuity " + k_repository, "push " + ref, "check " + ref + "@" + f.installers.digest});
  CHECK(f.installers.pushes.at(0).inputs == Strings{f.out("installer-amd64-secureboot.tar").string()});
  CHECK(f.installers.pushes.at(0).annotations == Strings{"org.opencontainers.image.version=v1.9.0"});
  CHECK(f.target.content("metal-amd64-secureboot.iso") == "secureboot-iso-amd64 build 2");
  CHECK(f.target.info.state == ReleaseState::released);
  REQUIRE(steps->push);
  CHECK(steps->push->ref == ref + "@" + f.installers.digest);
  CHECK(steps->steps["push-installer"]["ref"] == ref + "@" + f.installers.digest);
  // imager's child never inherits the names sbpipe reads secrets from.
  CHECK(f.imager.specs.at(0).unset_env == secret_env_names());
}

TEST_CASE("runner: run.sign_key signs the push and every release file, and finalize checks both; a bad key stops before imager") {
  RunnerFixture f;
  const fs::path key = f.scratch.path() / "image.key";
  // Made by the openssl command line, not by the code under test.
  REQUIRE(std::system(("openssl ecparam -name prime256v1 -genkey -noout -out " + key.string() + " 2>/dev/null").c_str()) == 0);
  f.settings.sign_key = (f.scratch.path() / "missing.key").string();
  auto refused = f.run();
  CHECK(message_of(refused).starts_with("run.sign_key"));
  CHECK(f.imager.calls.empty());
  CHECK(f.installers.calls.empty());

  f.settings.sign_key = key.string();
  auto steps = f.run();
  REQUIRE_MESSAGE(steps, message_of(steps));
  const std::string ref = k_repository + ":" + k_tag;
  CHECK(f.installers.pushes.at(0).sign_key == key.string());
  CHECK(f.installers.pushes.at(0).sign_key_setting == "run.sign_key");
  CHECK(f.installers.calls.back() == "check signed " + ref + "@" + f.installers.digest);
  // Each file, the checksum listings included, has its bundle beside it.
  for (const std::string name : {"metal-amd64-secureboot.iso", "sha256sum.txt", "sha512sum.txt"})
    CHECK_MESSAGE(f.target.files.contains(name + ".sigstore.json"), name);
  CHECK(f.target.info.state == ReleaseState::released);
}

TEST_CASE("runner: with image_verification, every input is pinned and checked before imager, and the provenance names them") {
  RunnerFixture f;
  f.plan.image_verification.configured = true;
  f.plan.image_verification.rules.push_back(ImageRule{.image = "ghcr.io/siderolabs/*", .skip = true});
  f.plan.system_extensions = {"ghcr.io/siderolabs/i915:20240110-v1.9.0"};
  const std::string imager = "ghcr.io/siderolabs/imager:v1.9.0";
  const std::string extension = "ghcr.io/siderolabs/i915:20240110-v1.9.0";

  // A refusal stops the run before imager, naming what the check said.
  f.inputs.check_error =
      Error(ErrorKind::invalid_input, "imager image " + imager + "@x: rule 0 (ghcr.io/*): signature check failed");
  auto refused = f.run();
  CHECK(message_of(refused) == "imager image " + imager + "@x: rule 0 (ghcr.io/*): signature check failed");
  CHECK(f.imager.calls.empty());
  CHECK(f.installers.calls.empty());
  CHECK(f.inputs.calls == Strings{"resolve " + imager, "resolve " + extension, "check 2 inputs"});

  // Passed: imager runs the image by digest, and with run.sign_key the push carries the provenance.
  f.inputs.check_error.reset();
  const fs::path keys = f.settings.keys_dir;
  // Made by the openssl command line, not by the code under test.
  const std::string quiet = " 2>/dev/null";
  REQUIRE(std::system(("openssl req -x509 -newkey rsa:2048 -nodes -keyout " + (keys / "uki.key").string() + " -out " +
                       (keys / "uki-signing-cert.pem").string() + " -days 1 -subj /CN=uki" + quiet)
                          .c_str()) == 0);
  REQUIRE(std::system(("openssl genrsa -out " + (keys / "pcr.key").string() + " 2048" + quiet + " && openssl rsa -in " +
                       (keys / "pcr.key").string() + " -pubout -out " + (keys / "pcr-signing-key.pub.pem").string() + quiet)
                          .c_str()) == 0);
  REQUIRE(std::system(
              ("openssl ecparam -name prime256v1 -genkey -noout -out " + (keys / "image.key").string() + quiet).c_str()) == 0);
  f.settings.sign_key = (keys / "image.key").string();
  f.settings.imager_command = {"imager", "{out}", "{image}", "{args}"};
  f.inputs.calls.clear();
  auto steps = f.run();
  REQUIRE_MESSAGE(steps, message_of(steps));
  CHECK(f.inputs.calls == Strings{"resolve " + imager, "resolve " + extension, "check 2 inputs"});
  REQUIRE(f.inputs.checked.size() == 2);
  CHECK(f.inputs.checked.back().inputs.at(0).ref == imager + "@" + FakeInputs::digest_of(imager));
  CHECK(f.imager.specs.at(0).argv.at(2) == imager + "@" + FakeInputs::digest_of(imager));
  REQUIRE(f.installers.pushes.at(0).provenance);
  const ProvenanceFacts& p = *f.installers.pushes.at(0).provenance;
  CHECK(p.inputs.at(0).ref == imager + "@" + FakeInputs::digest_of(imager));
  CHECK(p.inputs.at(1).ref == extension + "@" + FakeInputs::digest_of(extension));
  CHECK(p.release == f.target.what());
  CHECK(p.uki_certificate_sha256.size() == 64);
  CHECK(p.pcr_public_key_sha256.size() == 64);
  CHECK(slsa_predicate(p));  // every input pinned: the predicate can be made

  // A tag that moved since the run began is the plan changing: refused, run with --restart.
  f.inputs.moved[imager] = "sha256:" + std::string(64, 'e');
  f.installers.calls.clear();
  auto again = f.run();
  CHECK(message_of(again) ==
        "version v1.9.0: the imager configuration, or an image it names (a tag moved to another digest), changed since this "
        "run began; run with --restart to build again with the new one");
}

TEST_CASE("runner: a re-run resumes from the journal and repeats no finished step") {
  RunnerFixture f;
  f.installers.push_error = Error(ErrorKind::transient, "registry.test: connection reset");
  auto first = f.run();
  CHECK(message_of(first) == "push-installer: registry.test: connection reset");
  CHECK(f.target.calls == Strings{"open", "open"});  // looked at before imager and before the push; nothing put

  f.installers.push_error.reset();
  f.installers.calls.clear();
  f.target.calls.clear();
  auto second = f.run();
  REQUIRE_MESSAGE(second, message_of(second));
  CHECK(f.imager.calls.size() == 2);    // not run again
  CHECK(f.verifier.calls.size() == 1);  // not run again
  const std::string ref = k_repository + ":" + k_tag;
  CHECK(f.installers.calls == Strings{"push " + ref, "check " + ref + "@" + f.installers.digest});
  CHECK(f.target.content("metal-amd64-secureboot.iso") == "secureboot-iso-amd64 build 2");

  // A finished run does nothing at all, not even a look at the release.
  f.installers.calls.clear();
  f.target.calls.clear();
  auto third = f.run();
  REQUIRE_MESSAGE(third, message_of(third));
  CHECK(f.installers.calls.empty());
  CHECK(f.target.calls.empty());
  CHECK(f.imager.calls.size() == 2);
}

TEST_CASE("runner: a re-run with a changed imager configuration is refused before anything runs") {
  RunnerFixture f;
  f.run_until_push();
  f.plan.extra_kernel_args = {"console=ttyS1"};
  auto again = f.run();
  CHECK(message_of(again) ==
        "version v1.9.0: the imager configuration changed since this run began; run with --restart to build again with the new "
        "one");
  CHECK(again.error().kind() == ErrorKind::config);
  CHECK(f.imager.calls.size() == 2);
  CHECK(f.installers.calls.empty());  // refused before the push

  // --restart builds again with the new configuration.
  f.request.restart = true;
  auto restarted = f.run();
  REQUIRE_MESSAGE(restarted, message_of(restarted));
  CHECK(f.imager.calls.size() == 4);
}

TEST_CASE("runner: the verify gate: a failed verdict publishes nothing and the next run verifies again") {
  RunnerFixture f;
  f.verifier.reject = {"metal-amd64-secureboot.iso"};
  auto gated = f.run();
  CHECK(message_of(gated) ==
        "verify: nothing was published; fix the build, then run again with --restart: 1 of 2 EFI binaries failed verification");
  CHECK(gated.error().kind() == ErrorKind::invalid_input);
  CHECK(f.installers.calls.empty());  // no continuity look, no push
  CHECK(f.target.calls == Strings{"open"});
  CHECK(f.target.files.empty());

  auto again = f.run();  // verify is not recorded as done: it runs again, and refuses again
  CHECK(message_of(again) == message_of(gated));
  CHECK(f.verifier.calls.size() == 2);
  CHECK(f.imager.calls.size() == 2);
}

TEST_CASE("runner: an output replaced after verify is refused before the push and before the upload") {
  RunnerFixture f;
  f.run_until_push();
  f.installers.calls.clear();
  std::ofstream(f.out("metal-amd64-secureboot.iso"), std::ios::trunc) << "something else, unverified";
  auto again = f.run();
  CHECK(message_of(again) == f.out("metal-amd64-secureboot.iso").string() +
                                 " is missing or changed since imager wrote it and verify checked it; run with --restart to "
                                 "build again");
  CHECK(f.installers.calls.empty());
  CHECK(f.target.files.empty());

  fs::remove(f.out("metal-amd64-secureboot.iso"));
  CHECK(message_of(f.run()) == message_of(again));
}

TEST_CASE("runner: imager's failures name the invocation and publish nothing") {
  SUBCASE("a non-zero exit status") {
    RunnerFixture f;
    f.imager.exit_status = {{"secureboot-iso-amd64", 3}};
    CHECK(message_of(f.run()) ==
          "imager: unsupported (exit 3) building secureboot-iso-amd64, not retried: another try fails "
          "the same way; nothing was published");
    CHECK(std::count(f.imager.calls.begin(), f.imager.calls.end(), "imager secureboot-iso-amd64") == 1);
    CHECK(f.verifier.calls.empty());
  }
  SUBCASE("imager 1.14's dependency and I/O failures are tried once more, the others never") {
    for (int code : {5, 6}) {
      CAPTURE(code);
      RunnerFixture f;
      f.imager.exit_status = {{"secureboot-iso-amd64", code}};
      CHECK(message_of(f.run()).ends_with("(exit " + std::to_string(code) +
                                          ") building secureboot-iso-amd64, also on a second try; nothing was published"));
      CHECK(std::count(f.imager.calls.begin(), f.imager.calls.end(), "imager secureboot-iso-amd64") == 2);
    }
    for (int code : {1, 2, 4, 7}) {
      CAPTURE(code);
      RunnerFixture f;
      f.imager.exit_status = {{"secureboot-iso-amd64", code}};
      CHECK(message_of(f.run()).starts_with(imager_exit_text(code) + " building secureboot-iso-amd64, not retried"));
      CHECK(std::count(f.imager.calls.begin(), f.imager.calls.end(), "imager secureboot-iso-amd64") == 1);
    }
  }
  SUBCASE("a program that cannot be started") {
    RunnerFixture f;
    f.imager.cannot_start = {"secureboot-installer-amd64"};
    CHECK(message_of(f.run()) == "imager secureboot-installer-amd64: imager: No such file or directory");
    CHECK(f.imager.calls == Strings{"imager secureboot-installer-amd64"});
  }
  SUBCASE("success without the output file") {
    RunnerFixture f;
    f.imager.write_nothing = {"secureboot-iso-amd64"};
    auto r = f.run();
    CHECK(message_of(r) == "imager secureboot-iso-amd64 succeeded but wrote no metal-amd64-secureboot.iso into " +
                               (fs::path(f.settings.state_dir) / k_tag / "imager-secureboot-iso-amd64").string());
    CHECK(f.verifier.calls.empty());
  }
}

TEST_CASE("runner: a changed PCR key or signer is refused before the push unless the rotation is allowed") {
  RunnerFixture f;
  f.installers.changes = {"the PCR public key changed"};
  const std::string previous = k_repository + ":v1.8.0@" + f.installers.digest;
  auto refused = f.run();
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message() ==
        "continuity with " + previous + ": the PCR public key changed; nothing was published; " + rotation_advice());
  CHECK(f.installers.calls == Strings{"continuity " + k_repository});

  f.request.allow_key_rotation = true;
  auto allowed = f.run();
  REQUIRE_MESSAGE(allowed, message_of(allowed));
  CHECK(f.target.released_with.notices.size() == 1);
}

TEST_CASE("runner: a damaged journal is refused with the file, the step and the field") {
  RunnerFixture f;
  f.run_until_push();
  const fs::path journal = fs::path(f.settings.state_dir) / k_tag / "journal.json";
  auto edit = [&](const std::function<void(nlohmann::json&)>& change) {
    auto j = nlohmann::json::parse(std::ifstream(journal));
    change(j);
    std::ofstream(journal, std::ios::trunc) << j.dump();
  };
  SUBCASE("an imager step without its stamp") {
    edit([](nlohmann::json& j) { j["steps"]["imager:secureboot-iso-amd64"].erase("stamp"); });
    CHECK(message_of(f.run()) == journal.string() + ": step imager:secureboot-iso-amd64: stamp is missing");
  }
  SUBCASE("a stamp that is not text") {
    edit([](nlohmann::json& j) { j["steps"]["imager:secureboot-installer-amd64"]["stamp"] = 12; });
    CHECK(message_of(f.run()) == journal.string() + ": step imager:secureboot-installer-amd64: stamp is not a string");
  }
  SUBCASE("a release state that is no state") {
    edit([](nlohmann::json& j) { j["steps"]["release"]["state"] = "gone"; });
    auto r = f.run();
    CHECK(message_of(r) == journal.string() + ": step release: state 'gone': expected prerelease or draft");
  }
  CHECK(f.installers.calls.empty());  // refused before the push
}

TEST_CASE("runner: crashed at any call and run again, a run converges; nothing is published twice or by half") {
  // leveldb's fault_injection_test, in process: the N-th call to the release target or the
  // registry fails, before it happens or after it took effect (a kill -9 before the journal
  // records it); a plain re-run must then finish the release as a run without faults does.
  for (FailWhen when : {FailWhen::before, FailWhen::after}) {
    int calls_of_a_clean_run = 0;
    for (int n = 1;; ++n) {
      RunnerFixture f;
      FaultPlan faults{.fail_at = n, .when = when};
      FailingTarget target(f.target, faults);
      FailingInstallers installers(f.installers, faults);
      RunEnv env{f.clock, f.imager, f.verifier, installers, target, f.inputs};
      auto first = run_pipeline(f.request, f.settings, f.plan, env);
      if (faults.calls < n) {  // the run made fewer calls than n: every call has been failed once
        REQUIRE_MESSAGE(first, message_of(first));
        calls_of_a_clean_run = faults.calls;
        break;
      }
      CAPTURE(n);
      CAPTURE(faults.failed);
      CHECK(message_of(first).find("injected failure at call " + std::to_string(n)) != std::string::npos);
      faults.fail_at = 0;
      auto second = run_pipeline(f.request, f.settings, f.plan, env);
      REQUIRE_MESSAGE(second, message_of(second));
      REQUIRE(second->finalize);
      CHECK(second->steps.size() == 8);  // plan, release, 2 imager, verify, push, upload, finalize
      CHECK(f.target.info.state == ReleaseState::released);
      CHECK(std::count(f.target.calls.begin(), f.target.calls.end(), "released") == 1);
      // Each asset's content was sent once over both runs (FakeTarget records only a put that
      // changed something), and the release holds exactly the plan's assets.
      CHECK(f.target.files.size() == 3);  // the ISO and the two checksum files
      for (const auto& [name, file] : f.target.files) {
        CHECK_MESSAGE(std::count(f.target.calls.begin(), f.target.calls.end(), "put " + name) == 1, name);
        CHECK(file.complete);
      }
      CHECK(f.imager.calls.size() == 2);  // imager never runs twice for one output
      // The installer the release names is the one the registry holds.
      CHECK(second->push->digest == f.installers.digest);
    }
    CHECK(calls_of_a_clean_run > 8);
  }
}

TEST_CASE("runner: the journal's step names") {
  CHECK(step_key(RunStep::plan) == "plan");
  CHECK(step_key(RunStep::imager, "iso-amd64") == "imager:iso-amd64");
  CHECK(step_key(RunStep::push_installer) == "push-installer");
  CHECK(step_key(RunStep::upload_assets) == "upload-assets");
  CHECK(step_key(RunStep::finalize) == "finalize");
}

}  // TEST_SUITE("unit")

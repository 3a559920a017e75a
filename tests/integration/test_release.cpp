// upload-assets and finalize against the GitHub stand-in (and a dir:
// target), asserting the exact request sequence of each scenario.

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <signal.h>

#include <atomic>
#include <thread>

#include "integration/machine_output.h"
#include "integration/push_helpers.h"
#include "support/github_standin.h"
#include "support/registry_server.h"

namespace sbpipe::test {
namespace fs = std::filesystem;
using Strings = std::vector<std::string>;

namespace {

const std::string kRepo = "owner/talos-build";
const std::string kTag = "v1.9.0";

struct ReleaseFixture {
  GitHubStandIn github;
  TempDir dir;
  int64_t release_id = 0;
  std::vector<fs::path> files;

  explicit ReleaseFixture(bool prerelease = true, bool draft = false) {
    release_id = github.create_release(kRepo, kTag, prerelease, draft, "Built by CI from abc123.");
    fs::create_directories(dir / "files");
    add_file("metal-amd64-secureboot.iso", random_bytes(2 << 20, 1));
    add_file("vmlinuz-amd64", random_bytes(1 << 20, 2));
    add_file("initramfs-amd64.xz", random_bytes(3 << 19, 3));
  }
  void add_file(const std::string& name, const std::string& content) {
    write_file(dir / "files" / name, content);
    files.push_back(dir / "files" / name);
  }
  std::map<std::string, std::string> env() const { return {{"GITHUB_TOKEN", github.token()}}; }
  Strings common() const { return {"--repo", kRepo, "--tag", kTag, "--github-api", github.api_url(), "--retry-delay-ms", "20"}; }

  RunResult upload(Strings extra = {}, const std::function<void(int)>& on_start = {}) {
    Strings args{sbpipe_binary(), "upload-assets"};
    for (const auto& f : files) args.push_back(f.string());
    auto c = common();
    args.insert(args.end(), c.begin(), c.end());
    args.insert(args.end(), extra.begin(), extra.end());
    return run(args, env(), 300, on_start);
  }
  RunResult finalize(Strings extra = {}) {
    Strings args{"finalize"};
    auto c = common();
    args.insert(args.end(), c.begin(), c.end());
    args.insert(args.end(), extra.begin(), extra.end());
    return sbpipe(args, env());
  }
  // The published asset's bytes equal the file's.
  void check_published(const fs::path& file) {
    auto asset = github.asset(release_id, file.filename().string());
    REQUIRE_MESSAGE(asset, file.filename().string());
    CHECK(asset->state == "uploaded");
    CHECK(github.content(*asset) == read_file(file));
  }
  // sha256sum -c and sha512sum -c of the published checksum files over the
  // local files; both list exactly `names`.
  void check_sums_with_coreutils(const Strings& names = {"initramfs-amd64.xz", "metal-amd64-secureboot.iso", "vmlinuz-amd64"}) {
    for (const std::string tool : {"sha256sum", "sha512sum"}) {
      auto sums = github.asset(release_id, tool + ".txt");
      REQUIRE_MESSAGE(sums, tool);
      std::string text = github.content(*sums);
      write_file(dir / "files" / ("published-" + tool + ".txt"), text);
      auto r = run({"sh", "-c", "cd '" + (dir / "files").string() + "' && " + tool + " -c published-" + tool + ".txt"});
      CHECK_MESSAGE(r.exit_code == 0, r.out << r.err);
      CHECK(listed_names(text) == names);
    }
  }
};

Strings uploads_of(const Strings& names) {
  Strings out;
  for (const auto& n : names) out.push_back("POST upload " + n);
  return out;
}

Strings concat(Strings a, const Strings& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

const Strings kAllUploads =
    uploads_of({"metal-amd64-secureboot.iso", "vmlinuz-amd64", "initramfs-amd64.xz", "sha512sum.txt", "sha256sum.txt"});
const Strings kLookup{"GET tags/" + kTag, "GET assets"};
// The lookup once checksum files are published: both are read.
const Strings kListed =
    concat(kLookup, {"GET asset sha256sum.txt download", "GET storage", "GET asset sha512sum.txt download", "GET storage"});

Strings replace_of(const std::string& name) {
  return {"POST upload sbpipe-tmp-" + name, "DELETE asset " + name, "PATCH asset sbpipe-tmp-" + name + " -> " + name};
}

}  // namespace

TEST_SUITE("integration") {

TEST_CASE("upload-assets: fresh upload, then an unchanged re-run uploads nothing") {
  ReleaseFixture f;
  auto r = f.upload();
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(f.github.requests() == concat(kLookup, kAllUploads));
  for (const auto& file : f.files) f.check_published(file);
  f.check_sums_with_coreutils();
  CHECK(r.out.find("metal-amd64-secureboot.iso  uploaded") != std::string::npos);
  CHECK(r.out.find("5 uploaded, 0 replaced, 0 unchanged") != std::string::npos);
  auto iso = f.github.asset(f.release_id, "metal-amd64-secureboot.iso");
  CHECK(iso->content_type == "application/x-iso9660-image");
  CHECK(f.github.leaked_authorizations() == 0);

  f.github.clear_requests();
  auto again = f.upload({"--format", "json"});
  REQUIRE_MESSAGE(again.exit_code == 0, again.err);
  CHECK(f.github.requests() == kListed);  // zero uploads
  check_machine_output("upload-assets", again.out);
  auto out = nlohmann::json::parse(again.out);
  auto report = out["assets"];
  REQUIRE(report.size() == 5);
  for (const auto& item : report) CHECK(item["result"] == "unchanged");
  CHECK(report[3]["name"] == "sha512sum.txt");
  CHECK(report[4]["name"] == "sha256sum.txt");
}

TEST_CASE("upload-assets on a terminal redraws one line per asset and a total in place; without one, plain lines") {
  ReleaseFixture f;
  // --log-level debug: log lines (each request) are drawn while the display is up.
  Strings args{"/usr/bin/python3",
               test_support_dir() + "/run_in_pty.py",
               (f.dir / "pty.out").string(),
               sbpipe_binary(),
               "--log-level",
               "debug",
               "upload-assets"};
  for (const auto& file : f.files) args.push_back(file.string());
  auto c = f.common();
  args.insert(args.end(), c.begin(), c.end());
  auto r = run(args, f.env(), 300);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  std::string tty = read_file(f.dir / "pty.out");
  // Each row is drawn from the line's start, erased first; a redraw moves
  // the cursor back up over the rows drawn before.
  CHECK(tty.find("\r\x1b[2Kuploading metal-amd64-secureboot.iso") != std::string::npos);
  CHECK(tty.find("\r\x1b[2Ktotal (") != std::string::npos);
  CHECK(tty.find("A\r\x1b[J") != std::string::npos);
  CHECK(tty.find("] ") != std::string::npos);          // the bar
  CHECK(tty.find(" / 2.0 MiB") != std::string::npos);  // done / total of the 2 MiB asset
  // Log lines still reach the terminal, above the display.
  CHECK(tty.find("sbpipe: ") != std::string::npos);
  // The table is a result: stdout (a pipe here), not the terminal.
  CHECK(r.out.find("metal-amd64-secureboot.iso") != std::string::npos);
  CHECK(tty.find("ASSET ") == std::string::npos);

  // Not a terminal: no control sequences at all, as before.
  ReleaseFixture plain;
  auto p = plain.upload();
  REQUIRE_MESSAGE(p.exit_code == 0, p.err);
  CHECK(p.err.find('\r') == std::string::npos);
  CHECK(p.err.find('\x1b') == std::string::npos);
}

TEST_CASE("upload-assets: a changed file is uploaded under a temporary name, then swapped") {
  ReleaseFixture f;
  REQUIRE(f.upload().exit_code == 0);
  auto old_id = f.github.asset(f.release_id, "vmlinuz-amd64")->id;
  write_file(f.files[1], random_bytes(1 << 20, 99));
  f.github.clear_requests();
  auto r = f.upload();
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(f.github.requests() ==
        concat(concat(concat(kListed, replace_of("vmlinuz-amd64")), replace_of("sha512sum.txt")), replace_of("sha256sum.txt")));
  CHECK(r.out.find("0 uploaded, 3 replaced, 2 unchanged") != std::string::npos);
  f.check_published(f.files[1]);
  CHECK(f.github.asset(f.release_id, "vmlinuz-amd64")->id != old_id);
  CHECK_FALSE(f.github.asset(f.release_id, "sbpipe-tmp-vmlinuz-amd64"));
  f.check_sums_with_coreutils();
}

TEST_CASE("upload-assets: killed between 'upload new' and 'delete old', a re-run finishes the swap without uploading again") {
  ReleaseFixture f;
  REQUIRE(f.upload().exit_code == 0);
  auto old_content = read_file(f.files[1]);
  write_file(f.files[1], random_bytes(1 << 20, 77));
  std::atomic<int> pid{0};
  f.github.with_faults([&](StandInFaults& faults) {
    faults.after_upload = [&](const std::string& name) {
      if (name != "sbpipe-tmp-vmlinuz-amd64") return;
      while (pid.load() == 0) std::this_thread::yield();
      ::kill(pid.load(), SIGKILL);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // dead before it could read the answer
    };
  });
  f.github.clear_requests();
  auto crashed = f.upload({}, [&](int p) { pid = p; });
  CHECK(crashed.exit_code == 128 + SIGKILL);
  CHECK(f.github.requests() == concat(kListed, {"POST upload sbpipe-tmp-vmlinuz-amd64"}));
  // The old asset is still in place under its name, the new one beside it.
  REQUIRE(f.github.asset(f.release_id, "vmlinuz-amd64"));
  CHECK(f.github.content(*f.github.asset(f.release_id, "vmlinuz-amd64")) == old_content);
  REQUIRE(f.github.asset(f.release_id, "sbpipe-tmp-vmlinuz-amd64"));

  f.github.with_faults([](StandInFaults& faults) { faults.after_upload = nullptr; });
  f.github.clear_requests();
  auto resumed = f.upload();
  REQUIRE_MESSAGE(resumed.exit_code == 0, resumed.err);
  CHECK(f.github.requests() ==
        concat(concat(concat(kListed, {"DELETE asset vmlinuz-amd64", "PATCH asset sbpipe-tmp-vmlinuz-amd64 -> vmlinuz-amd64"}),
                      replace_of("sha512sum.txt")),
               replace_of("sha256sum.txt")));
  f.check_published(f.files[1]);
  f.check_sums_with_coreutils();
  CHECK(resumed.err.find("a complete upload from an earlier run is in place") != std::string::npos);
}

TEST_CASE("upload-assets: a 502 that leaves a starter asset is cleaned up and retried; old leftovers are deleted") {
  ReleaseFixture f;
  f.github.add_asset(f.release_id, "initramfs-amd64.xz", "half", "starter");
  f.github.add_asset(f.release_id, "sbpipe-tmp-vmlinuz-amd64", "stale other content");
  f.github.with_faults([](StandInFaults& faults) { faults.upload_502 = 1; });
  auto r = f.upload();
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  Strings expected = concat(kLookup, {"DELETE asset initramfs-amd64.xz", "DELETE asset sbpipe-tmp-vmlinuz-amd64",
                                      "POST upload metal-amd64-secureboot.iso",
                                      "(upload metal-amd64-secureboot.iso answered 502, left in state starter)", "GET assets",
                                      "DELETE asset metal-amd64-secureboot.iso", "POST upload metal-amd64-secureboot.iso"});
  expected = concat(expected, uploads_of({"vmlinuz-amd64", "initramfs-amd64.xz", "sha512sum.txt", "sha256sum.txt"}));
  CHECK(f.github.requests() == expected);
  for (const auto& file : f.files) f.check_published(file);
  CHECK(f.github.release(f.release_id).assets.size() == 5);
}

TEST_CASE("upload-assets: primary and secondary rate limits are waited out; a limit past --max-rate-limit-wait fails") {
  ReleaseFixture f;
  f.github.with_faults([](StandInFaults& faults) {
    faults.primary_rate_limits = 1;
    faults.secondary_rate_limits = 1;
    faults.rate_limit_match = "POST upload vmlinuz";
  });
  auto r = f.upload();
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(f.github.requests() ==
        concat(concat(kLookup, {"POST upload metal-amd64-secureboot.iso", "POST upload vmlinuz-amd64 -> 403 rate limit",
                                "POST upload vmlinuz-amd64 -> 403 secondary", "POST upload vmlinuz-amd64"}),
               uploads_of({"initramfs-amd64.xz", "sha512sum.txt", "sha256sum.txt"})));
  CHECK(r.err.find("GitHub rate limit exhausted") != std::string::npos);
  CHECK(r.err.find("GitHub secondary rate limit (retry-after 1)") != std::string::npos);
  for (const auto& file : f.files) f.check_published(file);

  ReleaseFixture g;
  g.github.with_faults([](StandInFaults& faults) { faults.primary_rate_limits = 1; });
  auto impatient = g.upload({"--max-rate-limit-wait", "0"});
  CHECK(impatient.exit_code == 1);
  CHECK(impatient.err.find("not waiting longer than 0 s") != std::string::npos);
  CHECK(g.github.requests() == Strings{"GET tags/" + kTag + " -> 403 rate limit"});
}

TEST_CASE("upload-assets: an asset without a digest is compared by downloading it, never with the token") {
  ReleaseFixture f;
  REQUIRE(f.upload().exit_code == 0);
  f.github.with_faults([](StandInFaults& faults) { faults.omit_digests = true; });
  f.github.clear_requests();
  auto r = f.upload();
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  Strings expected = kListed;
  for (const auto* name :
       {"metal-amd64-secureboot.iso", "vmlinuz-amd64", "initramfs-amd64.xz", "sha512sum.txt", "sha256sum.txt"}) {
    expected.push_back(std::string("GET asset ") + name + " download");
    expected.push_back("GET storage");
  }
  CHECK(f.github.requests() == expected);
  CHECK(f.github.leaked_authorizations() == 0);
  CHECK(r.out.find("0 uploaded, 0 replaced, 5 unchanged") != std::string::npos);
}

TEST_CASE("upload-assets refuses before sending anything: a full release, a file over 2 GiB, no token, bad names") {
  ReleaseFixture full(false);
  auto refused = full.upload();
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("release v1.9.0 of owner/talos-build is already a full release; refusing to change its assets "
                         "(--allow-published)") != std::string::npos);
  CHECK(full.github.requests() == Strings{"GET tags/" + kTag});
  auto allowed = full.upload({"--allow-published"});
  CHECK_MESSAGE(allowed.exit_code == 0, allowed.err);

  ReleaseFixture big;
  auto huge = big.dir / "files" / "huge.raw";
  REQUIRE(run({"truncate", "-s", "2G", huge.string()}).exit_code == 0);  // sparse
  big.files.push_back(huge);
  auto over = big.upload();
  CHECK(over.exit_code == 2);
  CHECK(over.err.find("huge.raw: 2.00 GiB is over the 2.00 GiB limit of a release asset") != std::string::npos);
  CHECK(big.github.requests().empty());

  ReleaseFixture tokenless;
  Strings args{"upload-assets", tokenless.files[0].string()};
  auto c = tokenless.common();
  args.insert(args.end(), c.begin(), c.end());
  auto no_token = sbpipe(args, {{"GITHUB_TOKEN", ""}, {"GH_TOKEN", ""}});
  CHECK(no_token.exit_code == 2);
  CHECK(no_token.err.find("no GitHub token: set GH_TOKEN (or GITHUB_TOKEN) or pass --github-token-file") != std::string::npos);

  auto wrong = tokenless.upload({"--github-token-file", (tokenless.dir / "missing").string()});
  CHECK(wrong.exit_code == 2);

  ReleaseFixture spaced;
  spaced.add_file("bad name.iso", "x");
  auto bad = spaced.upload();
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("asset name 'bad name.iso'") != std::string::npos);
  CHECK(spaced.github.requests().empty());
}

TEST_CASE("upload-assets: the token never reaches logs, even at debug level or on a 401") {
  ReleaseFixture f;
  write_file(f.dir / "token", "ghp_wrong_token_abcdef\n");
  auto r = f.upload({"--github-token-file", (f.dir / "token").string(), "--log-level", "trace"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("HTTP 401: Bad credentials") != std::string::npos);
  CHECK(r.err.find("ghp_wrong_token_abcdef") == std::string::npos);
  CHECK(r.out.find("ghp_wrong_token_abcdef") == std::string::npos);
  auto ok = f.upload({"--log-level", "trace"});
  REQUIRE(ok.exit_code == 0);
  CHECK(ok.err.find(f.github.token()) == std::string::npos);
}

TEST_CASE("finalize: a missing asset stops it with the release left as it was") {
  ReleaseFixture f;
  REQUIRE(f.upload().exit_code == 0);
  auto vmlinuz = f.github.asset(f.release_id, "vmlinuz-amd64");
  f.github.clear_requests();
  // Someone deleted an asset after the upload.
  REQUIRE(run({"curl", "-sf", "-X", "DELETE", "-H", "Authorization: Bearer " + f.github.token(),
               f.github.api_url() + "/repos/" + kRepo + "/releases/assets/" + std::to_string(vmlinuz->id)})
              .exit_code == 0);
  f.github.clear_requests();
  auto r = f.finalize();
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("release v1.9.0 of owner/talos-build is not complete: vmlinuz-amd64 is missing; release left as it was") !=
        std::string::npos);
  CHECK(f.github.requests() == kListed);
  auto release = f.github.release(f.release_id);
  CHECK(release.prerelease);
  CHECK(release.body == "Built by CI from abc123.");
}

TEST_CASE("finalize: flips the pre-release once, keeps the notes and adds the sbpipe section; a second run changes nothing") {
  ReleaseFixture f;
  REQUIRE(f.upload().exit_code == 0);
  write_file(f.dir / "sbpipe.yaml",
             "imager:\n  system_extensions: [ghcr.io/siderolabs/gvisor:20250505.0]\n  extra_kernel_args: [console=ttyS0]\n");
  f.github.clear_requests();
  auto r = f.finalize({"--config", (f.dir / "sbpipe.yaml").string()});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out == "released v1.9.0 https://github.invalid/owner/talos-build/releases/tag/v1.9.0\n");
  CHECK(f.github.requests() == concat(kListed, {"PATCH release body make_latest prerelease"}));
  auto release = f.github.release(f.release_id);
  CHECK_FALSE(release.prerelease);
  CHECK(f.github.latest(kRepo) == f.release_id);
  CHECK(release.body.starts_with("Built by CI from abc123.\n\n<!-- sbpipe:begin"));
  CHECK(release.body.find("- System extensions: `ghcr.io/siderolabs/gvisor:20250505.0`") != std::string::npos);
  CHECK(release.body.find("- Extra kernel arguments: `-lockdown`, `lockdown=integrity`, `console=ttyS0`") != std::string::npos);
  CHECK(release.body.find("| `vmlinuz-amd64` | `" + sha256_hex(read_file(f.files[1])) + "` |") != std::string::npos);

  f.github.clear_requests();
  auto again = f.finalize({"--config", (f.dir / "sbpipe.yaml").string(), "--format", "json"});
  REQUIRE_MESSAGE(again.exit_code == 0, again.err);
  CHECK(f.github.requests() == kListed);
  check_machine_output("finalize", again.out);
  CHECK(nlohmann::json::parse(again.out)["changed"] == false);
  CHECK(f.github.release(f.release_id).body == release.body);
}

TEST_CASE("finalize --no-make-latest leaves the latest release alone") {
  ReleaseFixture f;
  REQUIRE(f.upload().exit_code == 0);
  auto r = f.finalize({"--no-make-latest"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK_FALSE(f.github.release(f.release_id).prerelease);
  CHECK_FALSE(f.github.latest(kRepo));
}

TEST_CASE("the draft flow of immutable releases: uploads go to the draft, finalize publishes it") {
  ReleaseFixture f(true, true);
  f.github.set_immutable(f.release_id, true);
  auto r = f.upload();
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(f.github.requests() == concat({"GET tags/" + kTag, "GET releases", "GET assets"}, kAllUploads));
  f.github.clear_requests();
  auto fin = f.finalize();
  REQUIRE_MESSAGE(fin.exit_code == 0, fin.err);
  auto release = f.github.release(f.release_id);
  CHECK_FALSE(release.draft);
  CHECK_FALSE(release.prerelease);
  CHECK(f.github.requests().back() == "PATCH release body draft make_latest prerelease");

  // Published and immutable: GitHub refuses uploads, and sbpipe says so.
  write_file(f.files[0], "changed");
  auto late = f.upload({"--allow-published"});
  CHECK(late.exit_code == 1);
  CHECK(late.err.find("Cannot upload assets to an immutable release.") != std::string::npos);
  CHECK(f.github.asset(f.release_id, "metal-amd64-secureboot.iso")->size == 2u << 20);
}

TEST_CASE("finalize --installer-ref checks the manifest in a real registry") {
  LocalRegistry registry;
  ReleaseFixture f;
  REQUIRE(f.upload().exit_code == 0);
  auto layers = installer_layers("amd64", true, 5);
  auto image = f.dir / "installer-amd64.tar";
  write_tar(image, docker_save_members(layers, config_json("amd64", layers)));
  auto pushed = push({image.string()}, registry.host() + "/owner/installer:" + kTag);
  REQUIRE_MESSAGE(pushed.exit_code == 0, pushed.err);
  std::string digest = pushed.out.substr(pushed.out.find('@') + 1, 71);
  std::string ref = registry.host() + "/owner/installer:" + kTag + "@" + digest;

  std::string wrong = registry.host() + "/owner/installer:" + kTag + "@sha256:" + std::string(64, '0');
  auto bad = f.finalize({"--installer-ref", wrong, "--plain-http"});
  CHECK(bad.exit_code == 1);
  CHECK(bad.err.find("installer check failed; release left as it was") != std::string::npos);
  CHECK(f.github.release(f.release_id).prerelease);

  auto good = f.finalize({"--installer-ref", ref, "--plain-http"});
  REQUIRE_MESSAGE(good.exit_code == 0, good.err);
  auto body = f.github.release(f.release_id).body;
  CHECK(body.find("- Installer: `" + ref + "`") != std::string::npos);
  // The Upgrade line names the installer by digest only, as a Talos 1.13+
  // node stores it (tests/node judges that line against containerd).
  CHECK(body.find("talosctl upgrade --image " + registry.host() + "/owner/installer@" + digest + "`") != std::string::npos);
  CHECK(body.find("talosctl upgrade --image " + ref) == std::string::npos);

  // Run again without --installer-ref (here with a config that changes the
  // notes): the installer line stays, and is checked again.
  write_file(f.dir / "sbpipe.yaml", "imager:\n  extra_kernel_args: [console=ttyS0]\n");
  auto again = f.finalize({"--config", (f.dir / "sbpipe.yaml").string(), "--plain-http"});
  REQUIRE_MESSAGE(again.exit_code == 0, again.err);
  body = f.github.release(f.release_id).body;
  CHECK(body.find("- Installer: `" + ref + "`") != std::string::npos);
  CHECK(body.find("console=ttyS0") != std::string::npos);
  CHECK(again.err.find("keeping the installer its notes name: " + ref) != std::string::npos);
}

TEST_CASE("--target dir: publishes files, sha256sum.txt, sha512sum.txt and release.json atomically; finalize marks it released") {
  TempDir dir;
  std::vector<std::string> files;
  for (const auto* name : {"vmlinuz-amd64", "initramfs-amd64.xz"}) {
    write_file(dir / name, random_bytes(300000, name[0]));
    files.push_back((dir / name).string());
  }
  auto root = dir / "pxe-root";
  Strings args{"upload-assets", "--tag", kTag, "--target", "dir:" + root.string()};
  args.insert(args.end(), files.begin(), files.end());
  auto r = sbpipe(args);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  auto out = root / kTag;
  CHECK(read_file(out / "vmlinuz-amd64") == read_file(dir / "vmlinuz-amd64"));
  auto check = run({"sh", "-c", "cd '" + out.string() + "' && sha256sum -c sha256sum.txt && sha512sum -c sha512sum.txt"});
  CHECK_MESSAGE(check.exit_code == 0, check.out << check.err);
  auto release = nlohmann::json::parse(read_file(out / "release.json"));
  CHECK(release["prerelease"] == true);
  CHECK(release["assets"].size() == 2);
  Strings names;
  for (const auto& e : fs::directory_iterator(out)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  CHECK(names ==
        Strings{"initramfs-amd64.xz", "release.json", "sha256sum.txt", "sha512sum.txt", "vmlinuz-amd64"});  // no temp files

  auto again = sbpipe(args);
  CHECK(again.out.find("0 uploaded, 0 replaced, 4 unchanged") != std::string::npos);

  // A file damaged after publishing stops finalize.
  auto good = read_file(out / "vmlinuz-amd64");
  write_file(out / "vmlinuz-amd64", "tampered");
  auto bad = sbpipe({"finalize", "--tag", kTag, "--target", "dir:" + root.string()});
  CHECK(bad.exit_code == 1);
  CHECK(bad.err.find("is not complete: vmlinuz-amd64 has sha256") != std::string::npos);
  CHECK(nlohmann::json::parse(read_file(out / "release.json"))["prerelease"] == true);
  write_file(out / "vmlinuz-amd64", good);

  auto fin = sbpipe({"finalize", "--tag", kTag, "--target", "dir:" + root.string()});
  REQUIRE_MESSAGE(fin.exit_code == 0, fin.err);
  CHECK(fin.out == "released " + (out / "release.json").string() + "\n");
  release = nlohmann::json::parse(read_file(out / "release.json"));
  CHECK(release["prerelease"] == false);
  CHECK(release["notes"].get<std::string>().find("`v1.9.0`") != std::string::npos);
  auto twice = sbpipe({"finalize", "--tag", kTag, "--target", "dir:" + root.string()});
  CHECK(twice.out == "already released " + (out / "release.json").string() + "\n");

  auto refused = sbpipe(args);
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find(out.string() + " is already a full release; refusing to change its assets (--allow-published)") !=
        std::string::npos);
}
}  // TEST_SUITE("integration")

}  // namespace sbpipe::test

// The GitHub stand-in itself, asked with curl the way GitHub's docs describe:
// its answers validate against GitHub's own schemas (tests/support/
// github-openapi/, from @octokit/openapi), and it does what GitHub does that
// a looser stand-in would let a regression through: a missing User-Agent is
// 403, an unsupported X-GitHub-Api-Version 400, an upload in progress is
// listed "open", and a published immutable release locks its assets.

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <future>
#include <thread>

#include "integration/push_helpers.h"
#include "support/github_standin.h"
#include "support/kube_standin.h"

namespace sbpipe::test {
namespace {

using nlohmann::json;
const std::string kRepo = "owner/talos-build";

struct Curl {
  GitHubStandIn& github;
  // curl -s with the headers GitHub asks for unless `headers` replaces them;
  // returns "<status>\n<body>".
  std::pair<int, std::string> call(const std::string& method, const std::string& path, std::vector<std::string> headers = {},
                                   const std::string& body = "") {
    std::vector<std::string> argv{
        "curl", "-s", "-X", method, "-w", "\n%{http_code}", "-H", "Authorization: Bearer " + github.token()};
    if (headers.empty()) headers = {"User-Agent: sbpipe-test", "X-GitHub-Api-Version: 2022-11-28"};
    for (const auto& h : headers) argv.insert(argv.end(), {"-H", h});
    if (!body.empty()) argv.insert(argv.end(), {"-H", "Content-Type: application/json", "--data-binary", body});
    argv.push_back(path.starts_with("http") ? path : github.api_url() + path);
    auto r = run(argv);
    auto nl = r.out.rfind('\n');
    return {std::stoi(r.out.substr(nl + 1)), r.out.substr(0, nl)};
  }
};

}  // namespace

TEST_SUITE("integration") {

TEST_CASE("GitHub stand-in: releases, assets and errors validate against GitHub's OpenAPI schemas") {
  GitHubStandIn github;
  Curl curl{github};
  int64_t id = github.create_release(kRepo, "v1.9.0", true, false, "notes");
  int64_t draft = github.create_release(kRepo, "v2.0.0", true, true);
  int64_t asset = github.add_asset(id, "a.iso", "content");
  std::string base = "/repos/" + kRepo + "/releases";
  for (const auto& path : {base + "/" + std::to_string(id), base + "/" + std::to_string(draft), base + "/tags/v1.9.0"}) {
    CAPTURE(path);
    auto [status, body] = curl.call("GET", path);
    CHECK(status == 200);
    CHECK(schema_violations("../github-openapi/release.json", json::parse(body)) == "");
  }
  auto [list_status, list] = curl.call("GET", base + "?per_page=100");
  CHECK(list_status == 200);
  for (const auto& release : json::parse(list)) CHECK(schema_violations("../github-openapi/release.json", release) == "");
  auto [asset_status, asset_body] = curl.call("GET", base + "/assets/" + std::to_string(asset));
  CHECK(asset_status == 200);
  CHECK(schema_violations("../github-openapi/release-asset.json", json::parse(asset_body)) == "");
  auto [missing_status, missing] = curl.call("GET", base + "/99999");
  CHECK(missing_status == 404);
  CHECK(schema_violations("../github-openapi/basic-error.json", json::parse(missing)) == "");
  auto [dup_status, dup] =
      curl.call("PATCH", base + "/assets/" + std::to_string(github.add_asset(id, "b.iso", "b")), {}, R"({"name":"a.iso"})");
  CHECK(dup_status == 422);
  CHECK(schema_violations("../github-openapi/validation-error.json", json::parse(dup)) == "");
  CHECK(json::parse(dup)["errors"][0]["code"] == "already_exists");
}

TEST_CASE(
    "GitHub stand-in: no User-Agent is 403 and an unsupported API version 400, as GitHub answers; sbpipe sends both right") {
  GitHubStandIn github;
  Curl curl{github};
  github.create_release(kRepo, "v1.9.0");
  std::string path = "/repos/" + kRepo + "/releases/tags/v1.9.0";
  CHECK(curl.call("GET", path, {"User-Agent:", "X-GitHub-Api-Version: 2022-11-28"}).first ==
        403);  // curl: "User-Agent:" removes it
  CHECK(curl.call("GET", path, {"User-Agent: x", "X-GitHub-Api-Version: 1999-01-01"}).first == 400);
  CHECK(curl.call("GET", path, {"User-Agent: x"}).first == 200);  // no version: the default one
  CHECK(curl.call("GET", path, {"User-Agent: x", "X-GitHub-Api-Version: 2026-03-10"}).first == 200);
  CHECK(github.requests() == std::vector<std::string>{"GET tags/v1.9.0 -> 403 no user agent",
                                                      "GET tags/v1.9.0 -> 400 api version", "GET tags/v1.9.0",
                                                      "GET tags/v1.9.0"});
  // sbpipe's own requests pass both checks (every call of a whole upload-assets).
  TempDir dir;
  write_file(dir / "a.iso", "aaaa");
  github.clear_requests();
  auto up =
      sbpipe({"upload-assets", (dir / "a.iso").string(), "--repo", kRepo, "--tag", "v1.9.0", "--github-api", github.api_url()},
             {{"GITHUB_TOKEN", github.token()}});
  REQUIRE_MESSAGE(up.exit_code == 0, up.err);
  CHECK(github.requests().size() == 5);  // tags, assets, a.iso, sha512sum.txt, sha256sum.txt
  for (const auto& line : github.requests()) CHECK_MESSAGE(line.find(" -> 40") == std::string::npos, line);
}

TEST_CASE(
    "GitHub stand-in: an upload in progress is listed 'open'; a published immutable release locks uploads, deletes and renames") {
  GitHubStandIn github;
  Curl curl{github};
  int64_t id = github.create_release(kRepo, "v1.9.0");
  std::promise<void> arrived;
  std::promise<void> release_it;
  auto go = release_it.get_future().share();
  github.with_faults([&](StandInFaults& f) {
    f.during_upload = [&, go](const std::string&) {
      arrived.set_value();
      go.wait();
      return false;
    };
  });
  TempDir dir;
  write_file(dir / "big.iso", random_bytes(1 << 20, 3));
  auto release = json::parse(curl.call("GET", "/repos/" + kRepo + "/releases/" + std::to_string(id)).second);
  std::string upload_url = release["upload_url"].get<std::string>();
  upload_url = upload_url.substr(0, upload_url.find('{')) + "?name=big.iso";
  auto upload = std::async(std::launch::async, [&] {
    return run({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Authorization: Bearer " + github.token(), "-H",
                "User-Agent: t", "-H", "Content-Type: application/x-iso9660-image", "--data-binary",
                "@" + (dir / "big.iso").string(), upload_url});
  });
  arrived.get_future().wait();
  auto [status, assets] = curl.call("GET", "/repos/" + kRepo + "/releases/" + std::to_string(id) + "/assets");
  CHECK(status == 200);
  CHECK(json::parse(assets)[0]["state"] == "open");
  CHECK(json::parse(assets)[0]["digest"].is_null());
  CHECK(schema_violations("../github-openapi/release-asset.json", json::parse(assets)[0]) == "");
  release_it.set_value();
  CHECK(upload.get().out == "201");
  CHECK(github.asset(id, "big.iso")->state == "uploaded");

  github.set_immutable(id, true);
  auto asset = std::to_string(github.asset(id, "big.iso")->id);
  std::string base = "/repos/" + kRepo + "/releases/";
  auto published = curl.call("PATCH", base + std::to_string(id), {}, R"({"prerelease":false,"make_latest":"false"})");
  CHECK(published.first == 200);
  auto rename = curl.call("PATCH", base + "assets/" + asset, {}, R"({"name":"other.iso"})");
  CHECK(rename.first == 422);
  CHECK(json::parse(rename.second)["message"] == "Cannot modify an asset of an immutable release.");
  auto remove = curl.call("DELETE", base + "assets/" + asset);
  CHECK(remove.first == 422);
  CHECK(json::parse(remove.second)["message"] == "Cannot delete an asset of an immutable release.");
  CHECK(github.asset(id, "big.iso"));

  // What sbpipe says about it: --allow-published on a locked release fails at the first change.
  write_file(dir / "big.iso", random_bytes(1 << 20, 4));
  auto up = sbpipe({"upload-assets", (dir / "big.iso").string(), "--repo", kRepo, "--tag", "v1.9.0", "--github-api",
                    github.api_url(), "--allow-published"},
                   {{"GITHUB_TOKEN", github.token()}});
  CHECK(up.exit_code == 1);
  CHECK(up.err.find("immutable release") != std::string::npos);
}

}  // TEST_SUITE("integration")

}  // namespace sbpipe::test

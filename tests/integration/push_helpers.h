#pragma once
// Shared steps of the push-installer integration tests.

#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "support/image_builder.h"
#include "support/process.h"

namespace sbpipe::test {

inline RunResult sbpipe(std::vector<std::string> args, const std::map<std::string, std::string>& env = {}) {
  args.insert(args.begin(), sbpipe_binary());
  return run(args, env);
}

// The names a checksum file (sha256sum format) lists, in its order.
inline std::vector<std::string> listed_names(const std::string& text) {
  std::vector<std::string> names;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) names.push_back(line.substr(line.find("  ") + 2));
  return names;
}

// Pushes with fast retries (tests should not wait for real back-off).
inline RunResult push(const std::vector<std::string>& inputs, const std::string& ref, std::vector<std::string> extra = {},
                      const std::map<std::string, std::string>& env = {}) {
  std::vector<std::string> args{"push-installer"};
  args.insert(args.end(), inputs.begin(), inputs.end());
  args.insert(args.end(), {"--ref", ref, "--plain-http", "--retry-delay-ms", "20"});
  args.insert(args.end(), extra.begin(), extra.end());
  return sbpipe(args, env);
}

// HTTP status of a manifest HEAD, asked with curl (outside sbpipe).
inline std::string manifest_status(const std::string& host, const std::string& repo, const std::string& ref) {
  auto r = run({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-I", "-H",
                "Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json",
                "http://" + host + "/v2/" + repo + "/manifests/" + ref});
  return r.out;
}

// skopeo inspect --raw: the manifest as the registry serves it.
inline std::string skopeo_raw(const std::string& image, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args{"skopeo", "inspect", "--raw", "--tls-verify=false"};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back("docker://" + image);
  auto r = run(args);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  return r.out;
}

// skopeo copy to a dir: transport; returns file name → bytes.
inline std::map<std::string, std::string> skopeo_pull(const std::string& image, const std::filesystem::path& dir,
                                                      const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args{"skopeo", "copy", "--src-tls-verify=false"};
  args.insert(args.end(), extra.begin(), extra.end());
  args.insert(args.end(), {"docker://" + image, "dir:" + dir.string()});
  auto r = run(args);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  std::map<std::string, std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    files[entry.path().filename().string()] = read_file(entry.path());
  return files;
}

// The one-line error contract: a single line on stderr naming the problem.
inline void check_one_line_error(const RunResult& r, const std::string& needle) {
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  std::string last = r.err.substr(0, r.err.find_last_not_of('\n') + 1);
  last = last.substr(last.rfind('\n') == std::string::npos ? 0 : last.rfind('\n') + 1);
  CHECK_MESSAGE(last.find("error: ") != std::string::npos, r.err);
  CHECK_MESSAGE(last.find(needle) != std::string::npos, "expected '" << needle << "' in: " << r.err);
}

}  // namespace sbpipe::test

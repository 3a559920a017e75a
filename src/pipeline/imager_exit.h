#pragma once
// What imager's exit status says, and whether running it again can help.
// imager 1.14 exits by category (siderolabs/talos v1.14.0-rc.1
// pkg/installer/exitcode/exitcode.go Resolve, pkg/machinery/constants/
// constants.go Exit*): 2 invalid input, 3 unsupported, 4 environment,
// 5 dependency (an image pull), 6 I/O, 7 install, 1 unknown. Older imagers
// exit 1 for every error. The Argo template's imager retries follow the same
// table (manifests/argo/talos-secureboot-build.yaml).

#include <string>
#include <string_view>

namespace sbpipe {

enum class ImagerRetry { yes, no };

struct ImagerExit {
  std::string_view category;  // "invalid input", ...; "" for 0 and for codes imager does not use
  ImagerRetry retry = ImagerRetry::no;
};

// The category of `status`. `run` retries only a dependency (5) or I/O (6)
// failure: 2, 3, 4 and 7 fail the same way again, and 1 is every error of an
// imager before 1.14 (a re-run of `sbpipe run` resumes where it stopped).
ImagerExit imager_exit(int status);

// "imager: invalid input (exit 2)"; "imager: exit 9" for a code without a
// category.
std::string imager_exit_text(int status);

}  // namespace sbpipe

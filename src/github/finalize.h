#pragma once
// Turning a pre-release (or a draft) into a release, once everything it
// promises is in place: every asset listed in its sha256sums.txt is present,
// complete and has the listed digest, and (when given) the installer
// manifest exists in the registry. Then one PATCH flips it and writes the
// sbpipe section of the notes. A release already in that state is left
// alone, so finalize can run any number of times.

#include <functional>
#include <string>

#include "github/api.h"
#include "pipeline/release_notes.h"

namespace sbpipe {

struct FinalizeOptions {
  bool make_latest = true;
  ReleaseFacts facts;  // checksums are filled in from sha256sums.txt
  // Checks the installer reference in the registry; empty when none given.
  std::function<Status()> check_installer;
};

struct FinalizeResult {
  Release release;  // as it is after finalize
  bool changed = false;
  std::vector<std::pair<std::string, std::string>> checksums;
};

// Fails with invalid_input (exit 1) listing every missing or wrong asset,
// leaving the release as it was.
Result<FinalizeResult> finalize_release(GitHubApi& api, const RepoName& repo, const std::string& tag,
                                        const FinalizeOptions& options);

} // namespace sbpipe

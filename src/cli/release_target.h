#pragma once
// The flags that name the release a command works on (--repo, --tag,
// --target, --release-id, --release-state) and the publishing target they
// open, shared by upload-assets, finalize and run.

#include <memory>
#include <optional>
#include <string>

#include "cli/github_flags.h"
#include "release/target.h"
#include "release/target_spec.h"

namespace CLI {
class App;
}

namespace sbpipe {

struct ReleaseFlags {
  std::string repo;
  std::string tag;
  std::string target = "github";  // or dir:PATH
  int64_t release_id = 0;         // 0: not given (look the release up by tag)
  std::string release_state;      // "", prerelease or draft
};

// Adds --release-id and --release-state.
void add_release_pin_flags(CLI::App& cmd, ReleaseFlags& flags);

// What --release-id does with a target whose releases have no ids (dir:):
// refused (a person typed it) or ignored (run, started by serve with the
// webhook's id).
enum class ForeignReleaseId { refuse, ignore };

struct OpenedTarget {
  TargetSpec spec;
  std::optional<GitHubConnection> github;  // kept alive for a GitHub target
  std::unique_ptr<ReleaseTarget> target;
  ReleasePin pin;
};

// Checks the flags (usage errors: no tag, a bad --target, --repo or
// --release-state, --release-id with a target without ids) and opens the
// target the spec names (one opener per kind of spec); for GitHub the token
// is read here (config error when there is none), so a missing one fails
// before any work.
Result<OpenedTarget> open_release_target(const ReleaseFlags& flags, const GitHubFlags& github, ForeignReleaseId foreign_id);

}  // namespace sbpipe

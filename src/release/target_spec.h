#pragma once
// Where a release is published, as `--target` and `run.target` name it,
// parsed once into a typed spec (as ccache picks a remote storage backend by
// the URL's scheme): "github" (the release of the build repository) or
// "dir:PATH" (PATH/<tag>/, release/dir_target.h). Callers branch on the
// spec's type, never on the text again.

#include <filesystem>
#include <string>
#include <string_view>
#include <variant>

#include "core/error.h"

namespace sbpipe {

struct GitHubSpec {};
struct DirSpec {
  std::filesystem::path root;  // the release is ROOT/<tag>/
};
using TargetSpec = std::variant<GitHubSpec, DirSpec>;

// usage error naming `setting` ("--target", "run.target") and the schemes
// for anything but "github" and "dir:PATH".
Result<TargetSpec> parse_target_spec(std::string_view text, std::string_view setting = "--target");

// Whether the target's releases have GitHub's ids (what --release-id names)
// and need a repository (--repo).
bool has_release_ids(const TargetSpec& spec);

// The scheme the spec was written with: "github", "dir:".
std::string_view target_scheme(const TargetSpec& spec);

// For people: "GitHub release v1.9.0 of owner/repo", "dir /srv/releases/v1.9.0".
std::string describe_target(const TargetSpec& spec, const std::string& tag, const std::string& repo);

}  // namespace sbpipe

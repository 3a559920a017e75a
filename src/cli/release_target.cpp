#include "cli/release_target.h"

#include <CLI/CLI.hpp>

#include "core/clock.h"
#include "github/github_target.h"
#include "release/dir_target.h"

namespace sbpipe {

void add_release_pin_flags(CLI::App& cmd, ReleaseFlags& flags) {
  cmd.add_option("--release-id", flags.release_id,
                 "GitHub's id of the release (the webhook's release.id): work on exactly that release, and refuse when "
                 "it no longer has --tag")
      ->check(CLI::PositiveNumber);
  cmd.add_option("--release-state", flags.release_state,
                 "prerelease or draft: the state the release had when the run started; refuse when it changed "
                 "(e.g. unpublished meanwhile)");
}

Result<OpenedTarget> open_release_target(const ReleaseFlags& flags, const GitHubFlags& github, DirReleaseId dir_id) {
  if (flags.tag.empty()) return fail(ErrorKind::usage, "--tag must not be empty");
  auto dir = parse_publish_target(flags.target);
  if (!dir) return fail(dir.error());
  auto state = parse_release_state(flags.release_state, "--release-state");
  if (!state) return fail(state.error());
  OpenedTarget opened;
  opened.pin = ReleasePin{flags.tag, *state};
  if (*dir) {
    if (flags.release_id != 0 && dir_id == DirReleaseId::refuse)
      return fail(ErrorKind::usage, "--release-id names a GitHub release; a dir: target has none");
    std::string repo;
    if (!flags.repo.empty()) {
      auto parsed = RepoName::parse(flags.repo);
      if (!parsed) return fail(parsed.error());
      repo = parsed->str();
    }
    auto target = DirTarget::create(**dir, flags.tag, repo);
    if (!target) return fail(target.error());
    opened.target = std::move(*target);
    opened.is_dir = true;
    return opened;
  }
  auto repo = RepoName::parse(flags.repo);
  if (!repo) return fail(repo.error());
  auto connected = connect_github(github);
  if (!connected) return fail(connected.error());
  opened.github = std::move(*connected);
  GitHubTargetOptions options{*repo, flags.tag, std::nullopt, opened.github->policy};
  if (flags.release_id != 0) options.release_id = flags.release_id;
  opened.target = std::make_unique<GitHubTarget>(*opened.github->api, real_clock(), std::move(options));
  return opened;
}

}  // namespace sbpipe

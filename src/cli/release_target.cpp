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
                 "(e.g. unpublished meanwhile)")
      ->type_name("{prerelease,draft}");
}

namespace {

Status open_dir(OpenedTarget& opened, const DirSpec& spec, const ReleaseFlags& flags) {
  std::string repo;
  if (!flags.repo.empty()) {
    auto parsed = RepoName::parse(flags.repo);
    if (!parsed) return fail(parsed.error());
    repo = parsed->str();
  }
  auto target = DirTarget::create(spec.root, flags.tag, repo);
  if (!target) return fail(target.error());
  opened.target = std::move(*target);
  return {};
}

Status open_github(OpenedTarget& opened, const ReleaseFlags& flags, const GitHubFlags& github) {
  auto repo = RepoName::parse(flags.repo);
  if (!repo) return fail(repo.error());
  auto connected = connect_github(github);
  if (!connected) return fail(connected.error());
  opened.github = std::move(*connected);
  GitHubTargetOptions options{*repo, flags.tag, std::nullopt, opened.github->policy};
  if (flags.release_id != 0) options.release_id = flags.release_id;
  opened.target = std::make_unique<GitHubTarget>(*opened.github->api, real_clock(), std::move(options));
  return {};
}

}  // namespace

Result<OpenedTarget> open_release_target(const ReleaseFlags& flags, const GitHubFlags& github, ForeignReleaseId foreign_id) {
  if (flags.tag.empty()) return fail(ErrorKind::usage, "--tag must not be empty");
  auto spec = parse_target_spec(flags.target);
  if (!spec) return fail(spec.error());
  auto state = parse_release_state(flags.release_state, "--release-state");
  if (!state) return fail(state.error());
  if (flags.release_id != 0 && !has_release_ids(*spec) && foreign_id == ForeignReleaseId::refuse)
    return fail(ErrorKind::usage,
                "--release-id names a GitHub release; a " + std::string(target_scheme(*spec)) + " target has none");
  OpenedTarget opened{*spec, std::nullopt, nullptr, ReleasePin{flags.tag, *state}};
  Status st = std::visit(
      [&](const auto& kind) -> Status {
        using Kind = std::decay_t<decltype(kind)>;
        if constexpr (std::is_same_v<Kind, DirSpec>)
          return open_dir(opened, kind, flags);
        else
          return open_github(opened, flags, github);
      },
      *spec);
  if (!st) return fail(st.error());
  return opened;
}

}  // namespace sbpipe

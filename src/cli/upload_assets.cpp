// sbpipe upload-assets --repo OWNER/NAME --tag TAG FILE... [--github-api URL] [--target dir:PATH]

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>

#include "cli/app.h"
#include "cli/github_flags.h"
#include "cli/output.h"
#include "github/publish.h"
#include "pipeline/dir_target.h"

namespace sbpipe {
namespace {

struct UploadFlags {
  std::string repo;
  std::string tag;
  std::vector<std::string> files;
  std::string target = "github";
  bool allow_published = false;
  std::string format = "text";
  GitHubFlags github;
};

Status run_upload(const UploadFlags& flags) {
  if (auto st = check_choice("--format", flags.format, {"text", "json"}); !st) return st;
  auto target = parse_publish_target(flags.target);
  if (!target) return fail(target.error());
  const auto& dir = *target;
  std::optional<RepoName> repo;
  if (!flags.repo.empty() || !dir) {
    auto parsed = RepoName::parse(flags.repo);
    if (!parsed) return fail(parsed.error());
    repo = *parsed;
  }
  if (flags.tag.empty()) return fail(ErrorKind::usage, "--tag must not be empty");
  std::vector<std::filesystem::path> paths(flags.files.begin(), flags.files.end());
  std::optional<GitHubConnection> github;
  if (!dir) {  // a missing token fails before minutes of hashing
    auto connected = connect_github(flags.github);
    if (!connected) return fail(connected.error());
    github = std::move(*connected);
  }
  auto assets = describe_files(paths);
  if (!assets) return fail(assets.error());

  Result<std::vector<AssetReport>> reports =
      dir ? publish_to_directory(*dir, flags.tag, *assets, DirPublishOptions{flags.allow_published, repo ? repo->str() : ""})
          : publish_release_assets(*github->api, real_clock(), *repo, flags.tag, *assets,
                                   PublishOptions{flags.allow_published, github->policy});
  if (!reports) return fail(reports.error());
  if (flags.format == "json") {
    print_result_line(report_json(*reports).dump());
  } else {
    print_result_text(report_table(*reports));
  }
  return {};
}

} // namespace

void add_upload_assets(CLI::App& app, CommandAction& action) {
  auto flags = std::make_shared<UploadFlags>();
  CLI::App* cmd = app.add_subcommand("upload-assets", "Publish files (and their sha256sums.txt) as assets of a release");
  cmd->add_option("FILE", flags->files, "Files to publish; the asset name is the file name")->required();
  cmd->add_option("--repo", flags->repo, "GitHub repository OWNER/NAME (optional with a dir: target)");
  cmd->add_option("--tag", flags->tag, "The release's tag")->required();
  cmd->add_option("--target", flags->target, "github, or dir:PATH to publish into PATH/<tag>/ instead")->capture_default_str();
  cmd->add_flag("--allow-published", flags->allow_published, "Also change the assets of a release that is no longer a pre-release");
  cmd->add_option("--format", flags->format, "Summary on stdout: text or json")->capture_default_str();
  add_github_flags(*cmd, flags->github);
  cmd->callback([flags, &action] { action = [flags] { return run_upload(*flags); }; });
}

} // namespace sbpipe

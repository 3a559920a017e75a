// sbpipe upload-assets (FILE... | --plan PLAN --out DIR) --repo OWNER/NAME --tag TAG [--release-id ID] [--release-state S]
//                    [--github-api URL] [--target dir:PATH]

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "cli/output.h"
#include "cli/plan_input.h"
#include "cli/release_target.h"
#include "plan/published.h"
#include "release/publish.h"
#include "sigstore/keys.h"

namespace sbpipe {
namespace {

struct UploadFlags {
  ReleaseFlags release;
  std::vector<std::string> files;
  PlanInputFlags plan;
  bool allow_published = false;
  std::string format = "text";
  GitHubFlags github;
  std::string sign_key;
};

Status run_upload(const UploadFlags& flags) {
  if (auto st = check_choice("--format", flags.format, {"text", "json", "yaml"}); !st) return st;
  auto plan = load_plan_input(flags.plan, flags.files, "FILE");
  if (!plan) return fail(plan.error());
  // A missing token or a bad flag fails before minutes of hashing.
  auto opened = open_release_target(flags.release, flags.github, ForeignReleaseId::refuse);
  if (!opened) return fail(opened.error());
  std::optional<SigningKey> key;
  if (!flags.sign_key.empty()) {
    auto loaded = SigningKey::load(flags.sign_key, "--sign-key");
    if (!loaded) return fail(loaded.error());
    key = std::move(*loaded);
  }
  std::vector<NamedFile> files;
  for (const auto& f : flags.files) files.push_back(parse_named_file(f));
  auto assets = *plan ? release_files(**plan, flags.plan.out) : describe_files(files);
  if (!assets) return fail(assets.error());
  PublishRequest request{opened->pin, flags.allow_published ? AllowPublished::yes : AllowPublished::no, key ? &*key : nullptr};
  auto reports = publish_release(*opened->target, *assets, request);
  if (!reports) return fail(reports.error());
  if (flags.format != "text") {
    print_structured_result(flags.format, {{"assets", report_json(*reports)}});
  } else {
    print_result_text(report_table(*reports));
  }
  return {};
}

}  // namespace

void add_upload_assets(CLI::App& app, CommandAction& action) {
  auto flags = std::make_shared<UploadFlags>();
  CLI::App* cmd = app.add_subcommand(
      "upload-assets", "Publish files as assets of a release, with sha256sum.txt and sha512sum.txt over all its assets");
  cmd->add_option("FILE", flags->files, "Files to publish; the asset name is the file name, or NAME with FILE=NAME");
  add_plan_input_flags(*cmd, flags->plan, "every release asset (imager's outputs under their names, the iPXE scripts)");
  cmd->add_option("-R,--repo", flags->release.repo, "GitHub repository OWNER/NAME (optional with a dir: target)");
  cmd->add_option("--tag", flags->release.tag, "The release's tag")->required();
  cmd->add_option("--sign-key", flags->sign_key,
                  "The owner's signing key (PEM EC P-256 or RSA): each file and both checksum files get a sigstore "
                  "bundle NAME.sigstore.json");
  cmd->add_option("--target", flags->release.target, "github, or dir:PATH to publish into PATH/<tag>/ instead")
      ->capture_default_str();
  add_release_pin_flags(*cmd, flags->release);
  cmd->add_flag("--allow-published", flags->allow_published,
                "Also change the assets of a release that is no longer a pre-release");
  add_format_flag(*cmd, flags->format, {"text", "json", "yaml"}, "Summary on stdout");
  add_github_flags(*cmd, flags->github);
  cmd->callback([flags, &action] { action = [flags] { return run_upload(*flags); }; });
}

}  // namespace sbpipe

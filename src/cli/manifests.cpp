// sbpipe manifests render --config sbpipe.yaml --out DIR [--manifests PATH] [--secrets 1password|plain] [--vault NAME]
//
// The Argo manifests with the owner's values filled in (kube/manifest_render.h),
// written to DIR as a tree `kubectl apply -k DIR/overlays/receiver` (or
// DIR/overlays/argo-events) takes: kustomize parameters instead of a sed.

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <unistd.h>

#include "cli/app.h"
#include "cli/output.h"
#include "core/file.h"
#include "kube/manifest_render.h"
#include "pipeline/config_check.h"
#include "pipeline/run_config.h"

namespace sbpipe {
namespace {

namespace fs = std::filesystem;

struct RenderFlags {
  std::string config;
  std::string out;
  std::string manifests;
  std::string secrets = "1password";
  std::string vault;
  std::string storage_class;
  std::string node_arch;
  bool force = false;
};

// The manifests to render: --manifests, else the installed copy beside the
// binary (PREFIX/share/sbpipe/manifests), else ./manifests (a checkout).
Result<fs::path> manifests_dir(const std::string& flag) {
  if (!flag.empty()) return fs::path(flag);
  std::error_code ec;
  auto self = fs::read_symlink("/proc/self/exe", ec);
  for (fs::path candidate : {self.parent_path().parent_path() / "share" / "sbpipe" / "manifests", fs::path("manifests")})
    if (!ec && fs::is_regular_file(candidate / "argo" / "talos-secureboot-build.yaml")) return candidate;
  return fail(ErrorKind::config,
              "no manifests found (PREFIX/share/sbpipe/manifests or ./manifests): name the checkout's with --manifests PATH");
}

Status run_render(const RenderFlags& flags) {
  if (auto st = check_choice("--secrets", flags.secrets, {"1password", "plain"}); !st) return st;
  if (auto st = check_config_file(flags.config, Placeholders::refuse); !st) return st;
  auto settings = load_run_config(flags.config);
  if (!settings) return fail(settings.error());
  auto text = read_small_file(flags.config);
  if (!text) return fail(text.error());
  RenderValues values{settings->repo,
                      settings->installer_repository,
                      settings->registry.username,
                      flags.vault,
                      yaml_section_text(*text, "imager"),
                      flags.secrets == "plain" ? SecretSource::plain : SecretSource::onepassword};
  if (values.imager_section.empty()) values.imager_section = "imager: {}\n";
  values.storage_class = flags.storage_class;
  values.node_arch = flags.node_arch;
  if (values.storage_class.empty())
    spdlog::info(
        "the build's volume (8Gi, ReadWriteOnce) comes from the cluster's default StorageClass: `kubectl get "
        "storageclass` must show one marked (default), which a fresh Talos cluster lacks; else pass --storage-class");
  auto source = manifests_dir(flags.manifests);
  if (!source) return fail(source.error());
  fs::path out = flags.out;
  std::error_code ec;
  if (fs::exists(out, ec) && !fs::is_empty(out, ec) && !flags.force)
    return fail(ErrorKind::config, out.string() + ": exists and is not empty; pass --force to write into it");

  std::vector<std::string> problems;
  auto images = read_small_file(*source / "images" / "kustomization.yaml");
  if (!images) return fail(images.error());
  std::string images_problem;
  values.image_architectures = image_architectures(*images, images_problem);
  if (!images_problem.empty()) problems.push_back("images/kustomization.yaml: " + images_problem);
  std::vector<std::pair<fs::path, std::string>> files;
  for (auto it = fs::recursive_directory_iterator(*source, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    fs::path rel = fs::relative(it->path(), *source);
    if (rel.begin()->string() == "systemd" || rel.string().find("/files/") != std::string::npos)
      continue;  // not the cluster's; secrets stay where they are
    auto content = read_small_file(it->path(), 4 << 20);
    if (!content) return fail(content.error());
    bool yaml = rel.extension() == ".yaml" || rel.extension() == ".yml";
    files.emplace_back(rel, yaml ? render_manifest(rel.generic_string(), *content, values, problems) : *content);
  }
  if (ec) return fail(ErrorKind::io, source->string() + ": " + ec.message());
  if (!problems.empty()) {
    std::string text_out;
    for (const auto& p : problems) text_out += (text_out.empty() ? "" : "; ") + p;
    return fail(ErrorKind::config, "manifests render: " + text_out + " (nothing written)");
  }
  for (const auto& [rel, content] : files) {
    fs::create_directories((out / rel).parent_path(), ec);
    if (auto st = write_file_atomically(out / rel, content, 0644); !st) return st;
  }
  if (flags.secrets == "plain") {
    // The Secrets' files are the owner's to put there; named, not made.
    fs::create_directories(out / "secrets" / "plain" / "files" / "secureboot", ec);
    spdlog::info("put the Secrets' files under {} (its kustomization.yaml lists them)",
                 (out / "secrets" / "plain" / "files").string());
  }
  print_result_line("wrote " + out.string() + " (" + std::to_string(files.size()) + " files): kubectl apply -k " +
                    (out / "overlays" / "receiver").string() + "   (or " + (out / "overlays" / "argo-events").string() + ")");
  return {};
}

}  // namespace

void add_manifests(CLI::App& app, CommandAction& action) {
  CLI::App* manifests = app.add_subcommand("manifests", "The Argo manifests: render them with your values");
  manifests->require_subcommand(1);
  auto flags = std::make_shared<RenderFlags>();
  CLI::App* render = manifests->add_subcommand(
      "render", "Write the manifests with the owner, repositories, registry user and build config of a sbpipe config filled in");
  render
      ->add_option("--config", flags->config,
                   "The sbpipe config: run.repo, run.installer_repository, run.registry_username, imager:")
      ->required()
      ->envname("SBPIPE_CONFIG");
  render->add_option("--out", flags->out, "Where to write the rendered tree")->required();
  render->add_option("--manifests", flags->manifests,
                     "The manifests to render (default: PREFIX/share/sbpipe/manifests, else ./manifests)");
  render->add_option("--secrets", flags->secrets, "Where the build's Secrets come from")
      ->capture_default_str()
      ->type_name("{1password,plain}");
  render->add_option("--vault", flags->vault, "The 1Password vault holding the items (with --secrets 1password)");
  render->add_option("--storage-class", flags->storage_class,
                     "StorageClass of the build's volume (default: the cluster's default StorageClass)");
  render
      ->add_option("--node-arch", flags->node_arch,
                   "Run the build's pods on nodes of this architecture only (an imager image built for one)")
      ->type_name("{amd64,arm64}")
      ->check(CLI::IsMember({"amd64", "arm64"}));
  render->add_flag("--force", flags->force, "Write into a directory that is not empty");
  render->callback([flags, &action] { action = [flags] { return run_render(*flags); }; });
}

}  // namespace sbpipe

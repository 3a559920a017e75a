#include "plan/published.h"

#include "core/file.h"
#include "release/ipxe.h"

namespace sbpipe {
namespace fs = std::filesystem;

namespace {

const PlannedAsset* asset_named(const Plan& plan, const std::string& name) {
  for (const auto& a : plan.publish.assets)
    if (a.name == name) return &a;
  return nullptr;
}

// The iPXE script of one architecture: its inputs are the kernel, the
// initramfs and the cmdline assets, the last read from imager's output.
Result<LocalAsset> render_ipxe(const Plan& plan, const PlannedAsset& script, const fs::path& out_dir) {
  if (script.inputs.size() != 3)
    return fail(ErrorKind::invalid_input, "plan: " + script.name + " needs its kernel, initramfs and cmdline assets");
  const PlannedAsset* cmdline = asset_named(plan, script.inputs[2]);
  for (const auto& input : script.inputs) {
    const PlannedAsset* a = asset_named(plan, input);
    if (a == nullptr || a->source != AssetSource::imager)
      return fail(ErrorKind::invalid_input, "plan: " + script.name + " boots " + input + ", which the plan does not publish");
  }
  auto text = read_small_file(out_dir / cmdline->file, 64 * 1024);
  if (!text) return fail(text.error().with_context(script.name));
  if (text->find('\n') != std::string::npos && text->find('\n') + 1 < text->size())
    return fail(ErrorKind::invalid_input, (out_dir / cmdline->file).string() + ": the kernel command line is more than one line");
  auto body = ipxe_script(IpxeBoot{"Talos " + plan.version + " for " + script.arch, script.inputs[0], script.inputs[1], *text});
  if (!body) return fail(body.error().with_context((out_dir / cmdline->file).string()));
  return memory_asset(script.name, std::move(*body));
}

}  // namespace

Result<std::vector<LocalAsset>> release_files(const Plan& plan, const fs::path& out_dir) {
  std::vector<NamedFile> files;
  for (const auto& a : plan.publish.assets)
    if (a.source == AssetSource::imager) files.push_back(NamedFile{out_dir / a.file, a.name});
  auto described = describe_files(files);
  if (!described) return fail(described.error());
  std::vector<LocalAsset> out;
  auto next_file = described->begin();
  for (const auto& a : plan.publish.assets) {
    if (a.source == AssetSource::imager) {
      out.push_back(std::move(*next_file++));
    } else if (a.generator == Generator::ipxe_script) {
      auto script = render_ipxe(plan, a, out_dir);
      if (!script) return fail(script.error());
      out.push_back(std::move(*script));
    }
  }
  return out;
}

std::vector<std::string> installer_inputs(const Plan& plan, const fs::path& out_dir) {
  std::vector<std::string> paths;
  for (const auto& f : plan.publish.installer) paths.push_back((out_dir / f).string());
  return paths;
}

std::vector<std::string> gate_inputs(const Plan& plan, const fs::path& out_dir) {
  std::vector<std::string> paths;
  for (const auto& f : plan.publish.gate) paths.push_back((out_dir / f).string());
  return paths;
}

}  // namespace sbpipe

// The plan as JSON, and back: the form `sbpipe plan` prints and saves, and the
// one `upload-assets`, `push-installer` and `verify --plan` read.

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "core/file.h"
#include "core/json_fields.h"
#include "plan/plan.h"

namespace sbpipe {
namespace {
using json = nlohmann::json;

json invocation_list(const Plan& plan) {
  json list = json::array();
  for (const auto& inv : plan.invocations)
    list.push_back({{"name", inv.name},
                    {"profile", inv.profile},
                    {"arch", inv.arch},
                    {"secureboot", inv.secureboot},
                    {"kind", output_kind_name(inv.kind)},
                    {"image", inv.image},
                    {"args", inv.args},
                    {"output_file", inv.output_file}});
  return list;
}

json asset_json(const PlannedAsset& a) {
  return {{"name", a.name},    {"source", asset_source_name(a.source)},
          {"file", a.file},    {"generator", generator_name(a.generator)},
          {"arch", a.arch},    {"verified", a.verified},
          {"inputs", a.inputs}};
}

// An output file names a file inside imager's output directory.
bool plain_file_name(const std::string& name) {
  return !name.empty() && name.find('/') == std::string::npos && name.front() != '.' && name.find('\0') == std::string::npos;
}

template <typename Enum, size_t N>
std::optional<Enum> enum_named(std::string_view name, const Enum (&all)[N], std::string_view (*name_of)(Enum)) {
  for (Enum e : all)
    if (name_of(e) == name) return e;
  return std::nullopt;
}

constexpr OutputKind k_kinds[] = {OutputKind::installer, OutputKind::iso,     OutputKind::image, OutputKind::kernel,
                                  OutputKind::initramfs, OutputKind::cmdline, OutputKind::uki};
constexpr AssetSource k_sources[] = {AssetSource::imager, AssetSource::generated};
constexpr Generator k_generators[] = {Generator::none, Generator::ipxe_script, Generator::checksums};

Result<ImagerInvocation> invocation_from(const json& item, const std::string& path, std::string_view label) {
  JsonFields f(item, path, label);
  if (auto st = f.require_object(); !st) return fail(st.error());
  auto name = f.text("name");
  if (!name) return fail(name.error());
  auto profile = f.text("profile");
  if (!profile) return fail(profile.error());
  auto arch = f.text("arch");
  if (!arch) return fail(arch.error());
  auto secureboot = f.boolean("secureboot");
  if (!secureboot) return fail(secureboot.error());
  auto kind = f.text("kind");
  if (!kind) return fail(kind.error());
  auto image = f.text("image");
  if (!image) return fail(image.error());
  auto args = f.texts("args");
  if (!args) return fail(args.error());
  auto file = f.text("output_file");
  if (!file) return fail(file.error());
  auto k = enum_named(*kind, k_kinds, output_kind_name);
  if (!k) return f.problem(f.at("kind"), "'" + *kind + "' is not an output kind");
  if (!plain_file_name(*file)) return f.problem(f.at("output_file"), "'" + *file + "' is not a file name");
  return ImagerInvocation{*name, *profile, *arch, *secureboot, *k, *image, *args, *file};
}

Result<PlannedAsset> asset_from(const json& item, const std::string& path, std::string_view label) {
  JsonFields f(item, path, label);
  if (auto st = f.require_object(); !st) return fail(st.error());
  auto name = f.text("name");
  if (!name) return fail(name.error());
  auto source = f.text("source");
  if (!source) return fail(source.error());
  auto file = f.text("file");
  if (!file) return fail(file.error());
  auto generator = f.text("generator");
  if (!generator) return fail(generator.error());
  auto arch = f.text("arch");
  if (!arch) return fail(arch.error());
  auto verified = f.boolean("verified");
  if (!verified) return fail(verified.error());
  auto inputs = f.texts("inputs");
  if (!inputs) return fail(inputs.error());
  auto s = enum_named(*source, k_sources, asset_source_name);
  if (!s) return f.problem(f.at("source"), "'" + *source + "' is not imager or generated");
  auto g = enum_named(*generator, k_generators, generator_name);
  if (!g) return f.problem(f.at("generator"), "'" + *generator + "' is not a known generator");
  if ((*s == AssetSource::imager) != (*g == Generator::none))
    return f.problem(path, "is " + *source + " with generator '" + *generator + "'");
  if (*s == AssetSource::imager && !plain_file_name(*file)) return f.problem(f.at("file"), "'" + *file + "' is not a file name");
  return PlannedAsset{*name, *s, *file, *g, *arch, *verified, *inputs};
}

}  // namespace

std::string plan_json(const Plan& plan) {
  json assets = json::array();
  for (const auto& a : plan.publish.assets) assets.push_back(asset_json(a));
  json inputs = json::array();
  for (const auto& input : plan.inputs) inputs.push_back({{"role", input.role}, {"ref", input.ref}});
  return json{{"version", plan.version},
              {"invocations", invocation_list(plan)},
              {"publish", {{"installer", plan.publish.installer}, {"gate", plan.publish.gate}, {"assets", assets}}},
              {"inputs", inputs}}
      .dump();
}

std::string plan_items_json(const Plan& plan) { return invocation_list(plan).dump(); }

Result<Plan> parse_plan_json(std::string_view text, std::string_view label) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded()) return fail(ErrorKind::invalid_input, std::string(label) + ": not JSON");
  JsonFields top(doc, "", label);
  if (auto st = top.require_object(); !st) return fail(st.error());
  if (doc.contains("schemaVersion") && doc["schemaVersion"] != 1)
    return top.problem("schemaVersion", doc["schemaVersion"].dump() + " is not 1");
  Plan plan;
  auto version = top.text("version");
  if (!version) return fail(version.error());
  plan.version = *version;
  auto invocations = top.list("invocations");
  if (!invocations) return fail(invocations.error());
  std::set<std::string> made;
  for (size_t i = 0; i < (*invocations)->size(); ++i) {
    auto inv = invocation_from((**invocations)[i], "invocations[" + std::to_string(i) + "]", label);
    if (!inv) return fail(inv.error());
    made.insert(inv->output_file);
    plan.invocations.push_back(std::move(*inv));
  }
  auto publish = top.object("publish");
  if (!publish) return fail(publish.error());
  JsonFields pub(**publish, "publish", label);
  auto installer = pub.texts("installer");
  if (!installer) return fail(installer.error());
  auto gate = pub.texts("gate");
  if (!gate) return fail(gate.error());
  auto assets = pub.list("assets");
  if (!assets) return fail(assets.error());
  plan.publish.installer = std::move(*installer);
  plan.publish.gate = std::move(*gate);
  for (size_t i = 0; i < (*assets)->size(); ++i) {
    auto asset = asset_from((**assets)[i], "publish.assets[" + std::to_string(i) + "]", label);
    if (!asset) return fail(asset.error());
    plan.publish.assets.push_back(std::move(*asset));
  }
  // The input images (optional: plans written before they were recorded).
  if (doc.contains("inputs")) {
    auto list = top.list("inputs");
    if (!list) return fail(list.error());
    for (size_t i = 0; i < (*list)->size(); ++i) {
      JsonFields in((**list)[i], "inputs[" + std::to_string(i) + "]", label);
      auto role = in.text("role");
      if (!role) return fail(role.error());
      auto ref = in.text("ref");
      if (!ref) return fail(ref.error());
      plan.inputs.push_back(PlanInput{*role, *ref});
    }
  }
  // The publication names only what the invocations make.
  auto check_made = [&](const std::string& file, const std::string& where) -> Status {
    if (!made.contains(file)) return pub.problem(where, "names " + file + ", which no invocation makes");
    return {};
  };
  for (const auto& f : plan.publish.installer)
    if (auto st = check_made(f, "publish.installer"); !st) return fail(st.error());
  for (const auto& f : plan.publish.gate)
    if (auto st = check_made(f, "publish.gate"); !st) return fail(st.error());
  for (const auto& a : plan.publish.assets)
    if (a.source == AssetSource::imager)
      if (auto st = check_made(a.file, "publish.assets " + a.name); !st) return fail(st.error());
  return plan;
}

Result<Plan> load_plan(const std::filesystem::path& path) {
  auto text = read_small_file(path);
  if (!text) return fail(text.error());
  return parse_plan_json(*text, path.string());
}

}  // namespace sbpipe

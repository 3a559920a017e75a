#include "secureboot/plan.h"

#include <algorithm>
#include <cctype>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

namespace sbpipe {
namespace {

struct Profile {
  std::string_view name;
  std::string_view kind;
  bool secureboot;
};

// imager's built-in profiles for bare metal (pkg/imager/profile/default.go).
constexpr Profile k_profiles[] = {
    {"iso", "iso", false},         {"secureboot-iso", "iso", true},         {"installer", "installer", false},
    {"secureboot-installer", "installer", true}, {"metal", "image", false}, {"secureboot-metal", "image", true},
};

const Profile* find_profile(std::string_view name) {
  for (const auto& p : k_profiles)
    if (p.name == name) return &p;
  return nullptr;
}

std::string replace_version(std::string text, const std::string& version) {
  const std::string key = "{version}";
  for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at + version.size()))
    text.replace(at, key.size(), version);
  return text;
}

std::unexpected<Error> config_error(const std::string& message) { return fail(ErrorKind::config, message); }

// Where imager writes each output kind (DESIGN: "Facts to build on").
std::string output_file(const Profile& p, const std::string& arch) {
  std::string suffix = p.secureboot ? "-secureboot" : "";
  if (p.kind == "installer") return "installer-" + arch + suffix + ".tar";
  if (p.kind == "iso") return "metal-" + arch + suffix + ".iso";
  return "metal-" + arch + suffix + ".raw.xz";
}

Status check_kernel_args(const std::vector<std::string>& args, const char* key) {
  for (const auto& a : args)
    if (a.empty() || std::any_of(a.begin(), a.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); }))
      return config_error(std::string(key) + ": '" + a + "' must be one word (no spaces); give each argument separately");
  return {};
}

// Parses an image reference of the config and pins it when asked.
Result<std::string> image_for(const std::string& text, const char* what, const DigestResolver* resolver) {
  auto ref = ImageRef::parse(text, what);
  if (!ref) return config_error(ref.error().message());
  if (resolver == nullptr || !ref->digest.empty()) return ref->str();
  auto digest = (*resolver)(*ref);
  if (!digest) return fail(digest.error().with_context(std::string(what) + " " + ref->str() + ": cannot pin to a digest"));
  ref->digest = *digest;
  return ref->str();
}

} // namespace

Result<Plan> make_plan(const std::string& version, const PlanConfig& config, const DigestResolver* resolver) {
  if (!is_valid_tag(version)) return fail(ErrorKind::usage, "--version '" + version + "': not a valid image tag");
  if (config.outputs.empty()) return config_error("outputs: at least one output is needed");
  if (config.architectures.empty()) return config_error("architectures: at least one architecture is needed");
  std::set<std::string> seen;
  for (const auto& o : config.outputs) {
    if (find_profile(o) == nullptr)
      return config_error("outputs: unknown output '" + o + "' (iso, secureboot-iso, installer, secureboot-installer, metal, secureboot-metal)");
    if (!seen.insert(o).second) return config_error("outputs: '" + o + "' is listed twice");
  }
  seen.clear();
  for (const auto& a : config.architectures) {
    if (a != "amd64" && a != "arm64") return config_error("architectures: unknown architecture '" + a + "' (amd64, arm64)");
    if (!seen.insert(a).second) return config_error("architectures: '" + a + "' is listed twice");
  }
  if (auto st = check_kernel_args(config.extra_kernel_args, "extra_kernel_args"); !st) return fail(st.error());
  if (auto st = check_kernel_args(config.secureboot_kernel_args, "secureboot_kernel_args"); !st) return fail(st.error());
  static const std::regex k_meta(R"((0x[0-9a-fA-F]{1,2}|[0-9]{1,3})=.*)");
  for (const auto& m : config.meta)
    if (!std::regex_match(m, k_meta)) return config_error("meta: '" + m + "' is not KEY=VALUE with a numeric key (e.g. 0xa=...)");

  Plan plan;
  plan.version = version;
  auto imager = image_for(replace_version(config.imager_image, version), "imager image", resolver);
  if (!imager) return fail(imager.error());
  std::string base;
  if (!config.base_installer_image.empty()) {
    auto b = image_for(replace_version(config.base_installer_image, version), "base installer image", resolver);
    if (!b) return fail(b.error());
    base = *b;
  }
  std::vector<std::string> extensions;
  for (const auto& e : config.system_extensions) {
    auto x = image_for(replace_version(e, version), "system extension", resolver);
    if (!x) return fail(x.error());
    extensions.push_back(*x);
  }

  for (const auto& output : config.outputs) {
    const Profile& p = *find_profile(output);
    std::vector<std::string> kernel_args;
    if (p.secureboot) kernel_args = config.secureboot_kernel_args;
    kernel_args.insert(kernel_args.end(), config.extra_kernel_args.begin(), config.extra_kernel_args.end());
    // The same refusals as imager's profile validation.
    if (p.kind == "installer" && !p.secureboot && !kernel_args.empty())
      return config_error("extra_kernel_args: imager refuses kernel args for the '" + output + "' output (only SecureBoot installers carry a cmdline)");
    if (p.kind == "installer" && !config.meta.empty())
      return config_error("meta: imager refuses META values for the '" + output + "' output");
    for (const auto& arch : config.architectures) {
      ImagerInvocation inv;
      inv.name = output + "-" + arch;
      inv.profile = output;
      inv.arch = arch;
      inv.secureboot = p.secureboot;
      inv.kind = std::string(p.kind);
      inv.image = *imager;
      inv.output_file = output_file(p, arch);
      inv.args = {output, "--arch", arch, "--output", "/out"};
      if (p.kind == "installer" && !base.empty()) inv.args.insert(inv.args.end(), {"--base-installer-image", base});
      for (const auto& x : extensions) inv.args.insert(inv.args.end(), {"--system-extension-image", x});
      for (const auto& k : kernel_args) inv.args.insert(inv.args.end(), {"--extra-kernel-arg", k});
      if (p.kind != "installer")
        for (const auto& m : config.meta) inv.args.insert(inv.args.end(), {"--meta", m});
      plan.invocations.push_back(std::move(inv));
    }
  }
  return plan;
}

namespace {

nlohmann::json invocation_list(const Plan& plan) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& inv : plan.invocations)
    list.push_back({{"name", inv.name},           {"profile", inv.profile}, {"arch", inv.arch},
                    {"secureboot", inv.secureboot}, {"kind", inv.kind},       {"image", inv.image},
                    {"args", inv.args},             {"output_file", inv.output_file}});
  return list;
}

} // namespace

std::string plan_json(const Plan& plan) {
  return nlohmann::json{{"version", plan.version}, {"invocations", invocation_list(plan)}}.dump();
}

std::string plan_items_json(const Plan& plan) { return invocation_list(plan).dump(); }

std::string shell_quote(std::string_view word) {
  static const std::regex k_safe(R"([A-Za-z0-9_./:=@,+%-]+)");
  if (!word.empty() && std::regex_match(word.begin(), word.end(), k_safe)) return std::string(word);
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string plan_shell(const Plan& plan, const ShellOptions& options) {
  std::string out_dir = options.out_dir.empty() ? "\"$PWD/_out\"" : shell_quote(options.out_dir);
  std::string keys_dir = options.keys_dir.empty() ? "\"$PWD/secureboot\"" : shell_quote(options.keys_dir);
  auto mount = [](const std::string& dir, const char* target) {
    // A quoted directory stays quoted; the mount target is appended inside.
    if (dir.size() >= 2 && (dir.back() == '"' || dir.back() == '\''))
      return dir.substr(0, dir.size() - 1) + target + dir.back();
    return dir + target;
  };
  std::string text;
  for (const auto& inv : plan.invocations) {
    text += "# " + inv.name + " -> " + inv.output_file + "\n";
    text += shell_quote(options.engine) + " run --rm -t -v " + mount(out_dir, ":/out");
    if (inv.secureboot) text += " -v " + mount(keys_dir, ":/secureboot:ro");
    text += " " + shell_quote(inv.image);
    for (const auto& a : inv.args) text += " " + shell_quote(a);
    text += "\n";
  }
  return text;
}

} // namespace sbpipe

#include "kube/manifest_render.h"

#include <algorithm>
#include <cctype>
#include <sstream>

namespace sbpipe {
namespace {

// Whether `token` is in `code`; a token that is a word (OWNER) only as a
// whole word, so that FOWNER (a capability) is not taken for it.
bool holds_placeholder(std::string_view code, std::string_view token) {
  bool word = std::all_of(token.begin(), token.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)); });
  auto inside = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  for (size_t at = code.find(token); at != std::string_view::npos; at = code.find(token, at + 1)) {
    if (!word) return true;
    bool starts = at == 0 || !inside(code[at - 1]);
    bool ends = at + token.size() == code.size() || !inside(code[at + token.size()]);
    if (starts && ends) return true;
  }
  return false;
}

void replace_all(std::string& text, std::string_view from, std::string_view to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
}

std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> out;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::string trimmed(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.remove_suffix(1);
  return std::string(s);
}

// Adds `nodeSelector: {kubernetes.io/arch: ARCH}` under the first `spec_line` of the
// object of `kind` (after `within`, its pod template's line, when given), indented one level
// deeper; false when there is no such line.
bool with_node_selector(std::string& text, std::string_view kind, std::string_view within, std::string_view spec_line,
                        const std::string& arch) {
  const std::string pad(spec_line.find_first_not_of(' ') + 2, ' ');
  std::string edited;
  bool in_kind = false, inside = within.empty(), done = false;
  for (const auto& line : lines_of(text)) {
    if (line.starts_with("kind: ")) in_kind = line.substr(6) == kind;
    if (in_kind && !within.empty() && line == within) inside = true;
    edited += line + "\n";
    if (in_kind && inside && !done && line == spec_line) {
      edited += pad + "nodeSelector:\n" + pad + "  kubernetes.io/arch: " + arch + "\n";
      done = true;
    }
  }
  if (done) text = edited;
  return done;
}

// The ConfigMap's sbpipe.yaml for the cluster: the owner's imager section,
// and the receiver's serve section (the in-cluster receiver's secret path,
// the build namespace and template of manifests/argo/).
std::string cluster_config(const RenderValues& v) {
  std::string out = v.imager_section;
  if (!out.empty() && out.back() != '\n') out += "\n";
  out +=
      "serve:\n"
      "  listen: 0.0.0.0:8080\n"
      "  webhook_secret_files: [/run/secrets/webhook/secret]\n"
      "  allow_repos: [" +
      v.repo +
      "]\n"
      "  trigger: prerelease\n"
      "  kubernetes:\n"
      "    namespace: talos-build\n"
      "    workflow_template: talos-secureboot-build\n";
  return out;
}

// Replaces the literal block `sbpipe.yaml: |` of the ConfigMap with `config`.
std::string with_config_block(std::string_view text, const std::string& config, bool& found) {
  auto lines = lines_of(text);
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    out += lines[i] + "\n";
    if (trimmed(lines[i]) != "sbpipe.yaml: |") continue;
    found = true;
    size_t key_indent = lines[i].find_first_not_of(' ');
    std::string pad(key_indent + 2, ' ');
    // Skip the old block: every line indented deeper than the key (or blank).
    size_t j = i + 1;
    while (j < lines.size() && (trimmed(lines[j]).empty() || lines[j].find_first_not_of(' ') > key_indent)) ++j;
    for (const auto& line : lines_of(config)) out += line.empty() ? "\n" : pad + line + "\n";
    i = j - 1;
  }
  return out;
}

}  // namespace

std::vector<std::string> image_architectures(std::string_view images_yaml, std::string& problem) {
  const std::string key = "sbpipe.dev/architectures:";
  for (const auto& line : lines_of(images_yaml)) {
    std::string here = trimmed(line);
    if (!here.starts_with(key)) continue;
    std::string value = trimmed(here.substr(key.size()));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    std::vector<std::string> arches;
    std::istringstream in(value);
    for (std::string arch; std::getline(in, arch, ',');) {
      arch = trimmed(arch);
      if (arch != "amd64" && arch != "arm64") {
        problem = "sbpipe.dev/architectures names '" + arch + "' (amd64 and arm64 are what scripts/build-image builds)";
        return {};
      }
      if (std::find(arches.begin(), arches.end(), arch) == arches.end()) arches.push_back(arch);
    }
    if (arches.empty()) problem = "sbpipe.dev/architectures is empty";
    return arches;
  }
  problem = "no sbpipe.dev/architectures annotation (scripts/build-image --images-file writes it with the digest)";
  return {};
}

std::string yaml_section_text(std::string_view yaml, std::string_view name) {
  auto lines = lines_of(yaml);
  std::string out;
  bool inside = false;
  for (const auto& line : lines) {
    bool top = !line.empty() && line.front() != ' ' && line.front() != '#';
    if (top) inside = line.starts_with(std::string(name) + ":");
    if (inside) out += line + "\n";
  }
  while (out.size() >= 2 && out.ends_with("\n\n")) out.pop_back();
  return out;
}

std::string render_manifest(std::string_view path, std::string_view text, const RenderValues& v,
                            std::vector<std::string>& problems) {
  std::string p(path);
  auto need = [&](const std::string& value, const char* what) {
    if (value.empty()) problems.push_back(p + ": needs " + what);
    return !value.empty();
  };
  std::string out(text);
  const std::string owner = v.repo.substr(0, v.repo.find('/'));
  const std::string name = v.repo.find('/') == std::string::npos ? "" : v.repo.substr(v.repo.find('/') + 1);
  std::string image_owner = owner;
  std::transform(image_owner.begin(), image_owner.end(), image_owner.begin(), [](unsigned char c) { return std::tolower(c); });

  if (p == "argo/sbpipe-config.yaml") {
    bool found = false;
    out = with_config_block(out, cluster_config(v), found);
    if (!found) problems.push_back(p + ": no `sbpipe.yaml: |` block to fill");
  }
  if (out.find("ghcr.io/owner/talos-installer") != std::string::npos && need(v.installer_repository, "run.installer_repository"))
    replace_all(out, "ghcr.io/owner/talos-installer", v.installer_repository);
  // The registry user: the word after --username / --registry-username in an args list.
  auto lines = lines_of(out);
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string prev = trimmed(lines[i - 1]), here = trimmed(lines[i]);
    if (here == "- owner" && (prev == "- --username" || prev == "- --registry-username") &&
        need(v.registry_username, "run.registry_username"))
      lines[i] = lines[i].substr(0, lines[i].find('-')) + "- " + v.registry_username;
  }
  out.clear();
  for (const auto& line : lines) out += line + "\n";
  if (!text.ends_with("\n") && !out.empty()) out.pop_back();
  if (need(v.repo, "run.repo (OWNER/NAME)")) {
    replace_all(out, "OWNER/talos-build", v.repo);
    if (out.find("owner: OWNER") != std::string::npos) {
      replace_all(out, "owner: OWNER", "owner: " + owner);
      replace_all(out, "names: [talos-build]", "names: [" + name + "]");
    }
    replace_all(out, "ghcr.io/owner/", "ghcr.io/" + image_owner + "/");
  }
  if (out.find("vaults/VAULT/") != std::string::npos) {
    if (v.secrets == SecretSource::onepassword && need(v.vault, "--vault (the 1Password vault)"))
      replace_all(out, "vaults/VAULT/", "vaults/" + v.vault + "/");
  }
  // Build pods: on --node-arch nodes, else where the sbpipe image runs (one architecture only).
  const std::string image_only = v.image_architectures.size() == 1 ? v.image_architectures.front() : "";
  if (!v.node_arch.empty() && !v.image_architectures.empty() &&
      std::find(v.image_architectures.begin(), v.image_architectures.end(), v.node_arch) == v.image_architectures.end() &&
      p == "argo/talos-secureboot-build.yaml")
    problems.push_back(p + ": --node-arch " + v.node_arch + ", but the sbpipe image (images/kustomization.yaml) is built for " +
                       image_only + " only");
  const std::string build_arch = v.node_arch.empty() ? image_only : v.node_arch;
  if (p == "argo/talos-secureboot-build.yaml" && !v.storage_class.empty()) {
    std::string edited;
    bool in_template = false, class_done = false;
    for (const auto& line : lines_of(out)) {
      if (line.starts_with("kind: ")) in_template = line == "kind: WorkflowTemplate";
      if (in_template && !class_done && trimmed(line) == "accessModes: [ReadWriteOnce]") {
        edited += line.substr(0, line.find('a')) + "storageClassName: " + v.storage_class + "\n";
        class_done = true;
      }
      edited += line + "\n";
    }
    if (!class_done) problems.push_back(p + ": no volumeClaimTemplates to give a StorageClass");
    out = edited;
  }
  if (p == "argo/talos-secureboot-build.yaml" && !build_arch.empty() &&
      !with_node_selector(out, "WorkflowTemplate", "", "spec:", build_arch))
    problems.push_back(p + ": no WorkflowTemplate spec for a nodeSelector");
  // The receiver's pods: where the sbpipe image runs.
  if (p == "overlays/receiver/sbpipe-webhook.yaml" && !image_only.empty() &&
      !with_node_selector(out, "Deployment", "  template:", "    spec:", image_only))
    problems.push_back(p + ": no Deployment pod spec for a nodeSelector");
  if (v.secrets == SecretSource::plain && p.starts_with("overlays/"))
    replace_all(out, "- ../../secrets\n", "- ../../secrets/plain\n");
  // Whatever placeholder is left is named: the result must run as it is.
  for (std::string_view token : {"OWNER", "ghcr.io/owner/", "vaults/VAULT/"}) {
    bool only_in_comments = true;
    for (const auto& line : lines_of(out)) {
      std::string code = trimmed(line).starts_with("#") ? "" : line.substr(0, line.find(" #"));
      if (holds_placeholder(code, token)) only_in_comments = false;
    }
    if (!only_in_comments && !(token == "vaults/VAULT/" && v.secrets == SecretSource::plain))
      problems.push_back(p + ": the placeholder " + std::string(token) + " is left");
  }
  return out;
}

}  // namespace sbpipe

#include "kube/workflow.h"

#include "core/sha256.h"

namespace sbpipe {
namespace {

bool alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

std::string dns_safe(std::string_view text) {
  std::string out;
  for (char c : text) {
    char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (alnum(l))
      out += l;
    else if (!out.empty() && out.back() != '-')
      out += '-';
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

}  // namespace

std::string workflow_name(const ReleaseRef& release) {
  std::string repo_name = release.repo.substr(release.repo.find('/') + 1);
  std::string name = dns_safe(repo_name + "-" + release.tag + "-" + std::to_string(release.release_id));
  if (name.empty() || !alnum(name.front())) name = "r" + name;
  if (name.size() <= 63) return name;
  std::string hash = Sha256::hex_of(release.repo + "\n" + release.tag + "\n" + std::to_string(release.release_id)).substr(0, 8);
  std::string cut = name.substr(0, 63 - 1 - hash.size());
  while (!cut.empty() && cut.back() == '-') cut.pop_back();
  return cut + "-" + hash;
}

std::string label_value(std::string_view text) {
  std::string out;
  for (char c : text) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    out += ok ? c : (c == '/' ? '.' : '_');
  }
  if (out.size() > 63) out.resize(63);
  auto edge = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  while (!out.empty() && !edge(out.back())) out.pop_back();
  size_t first = 0;
  while (first < out.size() && !edge(out[first])) ++first;
  return out.substr(first);
}

std::string release_selector(const ReleaseRef& release) {
  return "sbpipe.dev/release-id=" + std::to_string(release.release_id) + ",sbpipe.dev/repo=" + label_value(release.repo);
}

nlohmann::json make_workflow(const ReleaseRef& release, const WorkflowTarget& target, const WorkflowOrigin& origin,
                             bool generate_name) {
  std::string name = workflow_name(release);
  nlohmann::json metadata = {
      {"namespace", target.namespace_name},
      {"labels",
       {{"app.kubernetes.io/managed-by", "sbpipe"},
        {"sbpipe.dev/repo", label_value(release.repo)},
        {"sbpipe.dev/tag", label_value(release.tag)},
        {"sbpipe.dev/release-id", std::to_string(release.release_id)}}},
      {"annotations", {{"sbpipe.dev/repo", release.repo}, {"sbpipe.dev/tag", release.tag}, {"sbpipe.dev/action", origin.action}}},
  };
  if (!origin.delivery_id.empty()) metadata["annotations"]["sbpipe.dev/delivery"] = origin.delivery_id;
  if (generate_name) {
    // The API appends 5 characters; keep the whole within 63.
    std::string base = name.substr(0, std::min<size_t>(name.size(), 63 - 5 - 2));
    while (!base.empty() && base.back() == '-') base.pop_back();
    metadata["generateName"] = base + "-r";
  } else {
    metadata["name"] = name;
  }
  auto parameters =
      nlohmann::json::array({{{"name", target.version_parameter}, {"value", release.tag}},
                             {{"name", target.repo_parameter}, {"value", release.repo}},
                             {{"name", target.release_id_parameter}, {"value", std::to_string(release.release_id)}}});
  if (!release.state.empty()) parameters.push_back({{"name", target.release_state_parameter}, {"value", release.state}});
  return {{"apiVersion", "argoproj.io/v1alpha1"},
          {"kind", "Workflow"},
          {"metadata", metadata},
          {"spec", {{"workflowTemplateRef", {{"name", target.workflow_template}}}, {"arguments", {{"parameters", parameters}}}}}};
}

}  // namespace sbpipe

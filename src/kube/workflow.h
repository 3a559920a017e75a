#pragma once
// The Argo Workflow object that starts one pipeline run for one release:
// created from the WorkflowTemplate by reference, with the release as
// parameters, and with a name derived from repo + tag + release id so that
// the Kubernetes API itself refuses a second run of the same release (409).

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace sbpipe {

struct WorkflowTarget {
  std::string namespace_name = "argo";
  std::string workflow_template = "talos-secureboot-build";
  std::string version_parameter = "version";
  std::string repo_parameter = "repo";
  std::string release_id_parameter = "release-id";
  std::string release_state_parameter = "release-state";
};

struct ReleaseRef {
  std::string repo;  // OWNER/NAME
  std::string tag;
  int64_t release_id = 0;
  // "prerelease" or "draft": what the release was when the run was started
  // (the steps refuse one that changed since); "" when not to be pinned.
  std::string state;
};

// Lowercase, [a-z0-9-], starting and ending with a letter or digit, at most
// 63 characters: "<name>-<tag>-<release id>" from the repository's name, the
// tag and the id; where that is too long it is cut and ends in 8 hex digits
// of a hash of the whole, so different releases never share a name.
std::string workflow_name(const ReleaseRef& release);

// A label value (<= 63 of [A-Za-z0-9._-], alphanumeric at both ends).
std::string label_value(std::string_view text);

struct WorkflowOrigin {
  std::string delivery_id;  // X-GitHub-Delivery; empty for a manual submit
  std::string action;       // the event's action, or "submit"
};

// The label selector of every Workflow started for `release` (fixed or
// generated names): "sbpipe.dev/release-id=ID,sbpipe.dev/repo=OWNER.NAME".
std::string release_selector(const ReleaseRef& release);

// The Workflow. With `generate_name`, metadata.generateName is the derived
// name plus "-r" (the API appends a random suffix) instead of a fixed name.
// Its parameters: version, repo, release-id, and release-state when the
// release's state is known.
nlohmann::json make_workflow(const ReleaseRef& release, const WorkflowTarget& target, const WorkflowOrigin& origin,
                             bool generate_name = false);

}  // namespace sbpipe

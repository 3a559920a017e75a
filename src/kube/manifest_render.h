#pragma once
// `sbpipe manifests render`: the Argo manifests (manifests/) with the
// owner's values in place of the placeholders they ship with, so no one
// edits a placeholder by hand (the `sed` docs/argo.md once asked for left
// the registry user behind). One file's text at a time, pure: the caller
// reads the tree and writes the result.
//
// What is replaced, and from where (the sbpipe config):
//   OWNER/talos-build, `owner: OWNER` + `names: [talos-build]`   run.repo
//   ghcr.io/owner/talos-installer                               run.installer_repository
//   `- owner` after `- --username` / `- --registry-username`    run.registry_username
//   ghcr.io/owner/ (the sbpipe image and any other)             the repository owner, lower-cased
//   vaults/VAULT/                                               --vault (1Password)
//   manifests/argo/sbpipe-config.yaml's sbpipe.yaml             the config's imager: section, and a serve: section
//                                                               for the in-cluster receiver (allow_repos: run.repo)
//   `- ../../secrets` in the overlays                           `- ../../secrets/plain` with Secrets::plain
//   the WorkflowTemplate's volumeClaimTemplates                 storageClassName, with storage_class
//   the WorkflowTemplate's spec                                 nodeSelector kubernetes.io/arch, with node_arch, else
//                                                               the sbpipe image's one architecture
//   the receiver Deployment's pod spec                          nodeSelector kubernetes.io/arch, the sbpipe image's one
//                                                               architecture (none when it has both)
// A placeholder left in the result is a problem named by file.

#include <string>
#include <string_view>
#include <vector>

namespace sbpipe {

enum class SecretSource { onepassword, plain };

struct RenderValues {
  std::string repo;                  // OWNER/NAME of the build repository
  std::string installer_repository;  // REGISTRY/REPO the installer is pushed to
  std::string registry_username;
  std::string vault;           // the 1Password vault (SecretSource::onepassword)
  std::string imager_section;  // the config's `imager:` section, as written (top-level key included)
  SecretSource secrets = SecretSource::onepassword;
  // The build's volume from this StorageClass ("": the cluster's default
  // StorageClass, which a fresh Talos cluster lacks).
  std::string storage_class;
  // Every build pod on nodes of this architecture ("": anywhere): for an
  // imager image built for one architecture only.
  std::string node_arch;
  // The architectures the pinned sbpipe image has (manifests/images/
  // kustomization.yaml's sbpipe.dev/architectures): with one, every pod that
  // runs it is kept on nodes of that one.
  std::vector<std::string> image_architectures;
};

// The text of manifests/<path> rendered; problems (a value missing, a
// placeholder left) are appended as "PATH: ...".
std::string render_manifest(std::string_view path, std::string_view text, const RenderValues& values,
                            std::vector<std::string>& problems);

// The architectures of the sbpipe.dev/architectures annotation of the kustomize
// images file (scripts/build-image writes it beside the digest); empty, with
// `problem` set, when it is missing or names something else.
std::vector<std::string> image_architectures(std::string_view images_yaml, std::string& problem);

// The top-level `name:` section of a YAML file's text, as written (its key
// line and every line under it, comments included); "" when absent.
std::string yaml_section_text(std::string_view yaml, std::string_view name);

}  // namespace sbpipe

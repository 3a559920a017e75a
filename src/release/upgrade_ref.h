#pragma once
// The image reference a person passes to `talosctl upgrade --image`, made
// from the installer reference sbpipe pushed (REGISTRY/REPO:TAG@sha256:...).
//
// Why not the pushed reference itself: talosctl 1.13 and later first pulls
// the image through the node's image service, which normalises the name with
// distribution/reference's ParseDockerRef (a tag beside a digest is dropped)
// and stores it only as `sha256:...` and `REPO@sha256:...`; then the
// lifecycle service looks the string talosctl was given up by exact name, so
// `REPO:TAG@sha256:...` is "not found in containerd store" and nothing is
// installed (siderolabs/talos v1.14.0-rc.1 cmd/talosctl/cmd/talos/upgrade.go,
// internal/pkg/containers/image/pull.go and aliases.go,
// internal/app/lifecycle/container.go; the same code at v1.13.9 with the pull
// in internal/pkg/containers/image/image.go). The digest form is found on
// every line, and it names exactly the pushed image.

#include <string>
#include <string_view>

namespace sbpipe {

// `installer_ref` without its tag when it also names a digest
// ("ghcr.io/o/installer:v1.14.0@sha256:ab..." → "ghcr.io/o/installer@sha256:ab...";
// a registry port is kept). A reference without a digest, or with no tag, is
// returned unchanged.
std::string upgrade_image_ref(std::string_view installer_ref);

}  // namespace sbpipe

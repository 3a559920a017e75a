#pragma once
// Images in a registry as LocalImage (oci/image.h), the shape the local
// loaders make from a docker archive or an OCI layout, so that one walk
// reads all three: go-containerregistry's single v1.Image interface,
// implemented by remote.Image, tarball.Image and layout.Image alike
// (pkg/v1/remote/image.go, pkg/v1/tarball/image.go, pkg/v1/layout/image.go).
// Manifests and configs are read when loading; a layer's bytes are fetched
// when it is opened, into a scratch file that is unlinked at once (the
// stream keeps it open, so it is gone when the stream is).
//
// Bounds, each an error naming the registry and the limit (issue 30):
// - a blob is read no further than its descriptor's size, then checked
//   against its digest (Registry::get_blob);
// - an index may list at most max_index_entries manifests;
// - the configs and layers of all the images together may hold at most
//   max_total_bytes by their descriptors, checked before any layer is
//   fetched;
// - the whole pull, loading and every layer opened later, ends by
//   `deadline` (Registry::set_deadline; it stays set on `registry`).
//
// Uses `registry` for every fetch: open the layers from one thread.

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "oci/image.h"
#include "oci/registry.h"

namespace sbpipe {

struct RemoteLimits {
  size_t max_index_entries = 32;
  uint64_t max_total_bytes = uint64_t{4} << 30;
  size_t max_config_bytes = 4u << 20;
  std::chrono::milliseconds deadline{600'000};
};

struct RemoteImages {
  Digest digest;  // of the manifest or index `reference` named
  std::vector<LocalImage> images;
};

// The image at `reference` (a tag or "sha256:<hex>"), or every image of the
// index there (attestations, platform unknown/unknown, left out, as the
// local loaders do). not_found when the registry holds no such manifest;
// invalid_input for a malformed manifest or index, a nested index, or one
// beyond the limits; timeout past the deadline; the registry's errors as
// they come. `scratch` must exist; layer copies go there while they are
// read.
Result<RemoteImages> load_remote_images(Registry& registry, const std::string& reference, const std::filesystem::path& scratch,
                                        const RemoteLimits& limits = {});

}  // namespace sbpipe

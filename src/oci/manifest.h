#pragma once
// OCI image manifests and indexes, as JSON.

#include <optional>
#include <string>
#include <vector>

#include "oci/image.h"

namespace sbpipe {

namespace media_type {
inline constexpr const char* oci_manifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* oci_index = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* oci_config = "application/vnd.oci.image.config.v1+json";
inline constexpr const char* docker_manifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr const char* docker_list = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr const char* docker_config = "application/vnd.docker.container.image.v1+json";
}  // namespace media_type

// The Accept header for manifest requests: every type sbpipe understands.
std::string manifest_accept_header();

struct Descriptor {
  std::string media_type;
  Digest digest;
  uint64_t size = 0;
  std::optional<Platform> platform;
};

std::string image_manifest_json(const Descriptor& config, const std::vector<Descriptor>& layers, const Annotations& annotations);
std::string index_json(const std::vector<Descriptor>& manifests, const Annotations& annotations);
// Adds (or replaces) annotations in an existing manifest document.
Result<std::string> annotate_json(const std::string& manifest, const Annotations& annotations);

}  // namespace sbpipe

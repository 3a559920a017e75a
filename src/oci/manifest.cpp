#include "oci/manifest.h"

#include <nlohmann/json.hpp>

namespace sbpipe {
namespace {

using ordered = nlohmann::ordered_json;

ordered descriptor_json(const Descriptor& d) {
  ordered j;
  j["mediaType"] = d.media_type;
  j["digest"] = d.digest.str();
  j["size"] = d.size;
  if (d.platform) {
    ordered p;
    p["architecture"] = d.platform->architecture;
    p["os"] = d.platform->os;
    if (!d.platform->variant.empty()) p["variant"] = d.platform->variant;
    j["platform"] = p;
  }
  return j;
}

}  // namespace

std::string manifest_accept_header() {
  return std::string(media_type::oci_manifest) + ", " + media_type::oci_index + ", " + media_type::docker_manifest + ", " +
         media_type::docker_list;
}

std::string image_manifest_json(const Descriptor& config, const std::vector<Descriptor>& layers, const Annotations& annotations) {
  ordered j;
  j["schemaVersion"] = 2;
  j["mediaType"] = media_type::oci_manifest;
  j["config"] = descriptor_json(config);
  j["layers"] = ordered::array();
  for (const auto& layer : layers) j["layers"].push_back(descriptor_json(layer));
  if (!annotations.empty()) j["annotations"] = annotations;
  return j.dump();
}

std::string index_json(const std::vector<Descriptor>& manifests, const Annotations& annotations) {
  ordered j;
  j["schemaVersion"] = 2;
  j["mediaType"] = media_type::oci_index;
  j["manifests"] = ordered::array();
  for (const auto& m : manifests) j["manifests"].push_back(descriptor_json(m));
  if (!annotations.empty()) j["annotations"] = annotations;
  return j.dump();
}

Result<std::string> annotate_json(const std::string& manifest, const Annotations& annotations) {
  auto j = ordered::parse(manifest, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(ErrorKind::invalid_input, "manifest is not a JSON object");
  if (!j.contains("annotations") || !j["annotations"].is_object()) j["annotations"] = ordered::object();
  for (const auto& [key, value] : annotations) j["annotations"][key] = value;
  return j.dump();
}

}  // namespace sbpipe

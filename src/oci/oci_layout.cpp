// OCI image layouts (image-spec layout.md): oci-layout, index.json and
// blobs/<alg>/<hex>, in a directory or a tarball. Manifests are kept as
// stored so that their digests survive the push.

#include <nlohmann/json.hpp>

#include "oci/image_loaders.h"
#include "oci/manifest.h"

namespace sbpipe {
namespace {

std::string blob_path(const Digest& d) { return "blobs/sha256/" + d.hex; }

Result<Digest> descriptor_digest(const nlohmann::json& desc, const std::string& where) {
  if (!desc.is_object() || !desc.contains("digest") || !desc["digest"].is_string())
    return fail(ErrorKind::invalid_input, where + ": descriptor without a digest");
  auto d = Digest::parse(desc["digest"].get<std::string>());
  if (!d) return fail(d.error().with_context(where));
  return d;
}

// Reads a blob named by a descriptor and checks its digest (metadata only).
Result<std::string> read_verified(const LayoutFiles& files, const Digest& digest) {
  auto text = files.read_small(blob_path(digest));
  if (!text) return fail(text.error());
  if (Digest::of(*text) != digest)
    return fail(ErrorKind::invalid_input, files.label + ": " + blob_path(digest) + ": content does not match its digest");
  return text;
}

std::string str_of(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

Result<LocalImage> load_manifest(const LayoutFiles& files, const Digest& digest, const std::string& media) {
  auto text = read_verified(files, digest);
  if (!text) return fail(text.error());
  auto m = nlohmann::json::parse(*text, nullptr, false);
  std::string where = files.label + ": manifest " + digest.short_str();
  if (m.is_discarded() || !m.is_object() || !m.contains("config") || !m.contains("layers") || !m["layers"].is_array())
    return fail(ErrorKind::invalid_input, where + ": not an image manifest");
  LocalImage image;
  image.label = files.label;
  image.original_manifest = *text;
  image.original_manifest_media_type = media.empty() ? str_of(m, "mediaType") : media;
  if (image.original_manifest_media_type.empty()) image.original_manifest_media_type = media_type::oci_manifest;
  auto config_digest = descriptor_digest(m["config"], where + ": config");
  if (!config_digest) return fail(config_digest.error());
  auto config = read_verified(files, *config_digest);
  if (!config) return fail(config.error());
  image.config = *config;
  image.config_digest = *config_digest;
  image.config_media_type = str_of(m["config"], "mediaType");
  auto platform = platform_of_config(image.config, where);
  if (!platform) return fail(platform.error());
  image.platform = *platform;
  auto diff_ids = diff_ids_of_config(image.config, where);
  if (!diff_ids) return fail(diff_ids.error());
  if (diff_ids->size() != m["layers"].size())
    return fail(ErrorKind::invalid_input, where + " has " + std::to_string(m["layers"].size()) +
                                              " layers but the config's rootfs.diff_ids has " + std::to_string(diff_ids->size()));
  for (size_t i = 0; i < m["layers"].size(); ++i) {
    const auto& desc = m["layers"][i];
    auto layer_digest = descriptor_digest(desc, where + ": layer " + std::to_string(i));
    if (!layer_digest) return fail(layer_digest.error());
    std::string path = blob_path(*layer_digest);
    auto size = files.size_of(path);
    if (!size) return fail(ErrorKind::invalid_input, where + " names layer " + path + ", which is missing");
    if (!desc.contains("size") || !desc["size"].is_number_unsigned() || desc["size"].get<uint64_t>() != *size)
      return fail(ErrorKind::invalid_input, files.label + ": " + path + ": size differs from its descriptor");
    LocalLayer layer;
    layer.label = files.label + ": " + path;
    layer.open = files.opener(path);
    layer.stored_size = *size;
    layer.stored_media_type = str_of(desc, "mediaType");
    auto encoding = sniff_stream(layer.open);
    if (!encoding) return fail(encoding.error());
    layer.stored = *encoding;
    layer.push_as = layer.stored;  // layouts are pushed byte for byte
    layer.stored_digest = *layer_digest;
    layer.diff_id = (*diff_ids)[i];
    image.layers.push_back(std::move(layer));
  }
  return image;
}

}  // namespace

Result<std::vector<LocalImage>> load_oci_layout(const LayoutFiles& files) {
  auto marker = files.read_small("oci-layout", 4096);
  if (!marker) return fail(ErrorKind::invalid_input, files.label + ": not an OCI layout (no oci-layout file)");
  auto index_text = files.read_small("index.json");
  if (!index_text) return fail(index_text.error());
  auto index = nlohmann::json::parse(*index_text, nullptr, false);
  if (index.is_discarded() || !index.is_object() || !index.contains("manifests") || !index["manifests"].is_array() ||
      index["manifests"].empty())
    return fail(ErrorKind::invalid_input, files.label + ": index.json lists no manifests");

  std::vector<LocalImage> images;
  // Walk index.json, descending one level into nested image indexes.
  std::vector<std::pair<nlohmann::json, int>> queue;
  for (const auto& d : index["manifests"]) queue.emplace_back(d, 0);
  while (!queue.empty()) {
    auto [desc, depth] = queue.front();
    queue.erase(queue.begin());
    auto digest = descriptor_digest(desc, files.label + ": index.json");
    if (!digest) return fail(digest.error());
    std::string media = str_of(desc, "mediaType");
    if (media == media_type::oci_index || media == media_type::docker_list) {
      if (depth > 1) return fail(ErrorKind::invalid_input, files.label + ": image indexes nested too deeply");
      auto nested = read_verified(files, *digest);
      if (!nested) return fail(nested.error());
      auto j = nlohmann::json::parse(*nested, nullptr, false);
      if (j.is_discarded() || !j.contains("manifests") || !j["manifests"].is_array())
        return fail(ErrorKind::invalid_input, files.label + ": index " + digest->short_str() + " is malformed");
      for (const auto& d : j["manifests"]) queue.emplace_back(d, depth + 1);
      continue;
    }
    // Attestation manifests (platform unknown/unknown) are not images.
    if (desc.contains("platform") && str_of(desc["platform"], "os") == "unknown") continue;
    auto image = load_manifest(files, *digest, media);
    if (!image) return fail(image.error());
    images.push_back(std::move(*image));
  }
  if (images.empty()) return fail(ErrorKind::invalid_input, files.label + ": no image manifests in the layout");
  return images;
}

}  // namespace sbpipe

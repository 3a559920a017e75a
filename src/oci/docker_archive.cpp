// docker-save tarballs: manifest.json (anywhere in the archive, often last)
// names a config and layers by member name. go-containerregistry's
// tarball.Write names them "sha256:<hex>" and "<hex>.tar.gz"; docker names
// them "<hex>.json" and "<id>/layer.tar", or "blobs/sha256/<hex>" (docker 25+).

#include <nlohmann/json.hpp>

#include <filesystem>

#include "oci/image_loaders.h"
#include "oci/manifest.h"

namespace sbpipe {
namespace {

// The digest a member's name claims for its bytes, if it claims one.
std::optional<Digest> digest_from_name(const std::string& name) {
  std::string base = std::filesystem::path(name).filename().string();
  if (base.starts_with("sha256:")) base = base.substr(7);
  for (const char* ext : {".tar.gz", ".tgz", ".tar.zst", ".tar", ".json", ".gz"}) {
    if (base.size() > 64 && base.ends_with(ext)) {
      base = base.substr(0, base.size() - std::string_view(ext).size());
      break;
    }
  }
  if (!Digest::is_hex64(base)) return std::nullopt;
  // "<id>/layer.tar" names the directory by a v1 id, not a digest: only the
  // file's own name, or blobs/sha256/<hex>, counts.
  return Digest{base};
}

Result<LocalImage> load_entry(const TarArchive& archive, const nlohmann::json& entry, size_t index, const LoadOptions& options) {
  std::string where = archive.path().string() + ": manifest.json[" + std::to_string(index) + "]";
  if (!entry.is_object() || !entry.contains("Config") || !entry["Config"].is_string() || !entry.contains("Layers") ||
      !entry["Layers"].is_array())
    return fail(ErrorKind::invalid_input, where + ": needs a Config string and a Layers array");
  std::string config_name = entry["Config"];
  const TarEntry* config_entry = archive.find(config_name);
  if (config_entry == nullptr)
    return fail(ErrorKind::invalid_input, where + " names config " + config_name + ", which is not in the archive");
  auto config = archive.read_small(*config_entry);
  if (!config) return fail(config.error());

  LocalImage image;
  image.label = archive.path().string();
  image.config = *config;
  image.config_digest = Digest::of(*config);
  image.config_media_type = media_type::oci_config;
  if (auto claimed = digest_from_name(config_name); claimed && *claimed != image.config_digest)
    return fail(ErrorKind::invalid_input, archive.path().string() + ": " + config_name + ": content is " +
                                              image.config_digest.str() + ", not the digest its name claims");
  auto platform = platform_of_config(image.config, image.label);
  if (!platform) return fail(platform.error());
  image.platform = *platform;
  auto diff_ids = diff_ids_of_config(image.config, image.label);
  if (!diff_ids) return fail(diff_ids.error());
  if (diff_ids->size() != entry["Layers"].size())
    return fail(ErrorKind::invalid_input, where + " lists " + std::to_string(entry["Layers"].size()) +
                                              " layers but the config's rootfs.diff_ids has " + std::to_string(diff_ids->size()));

  for (size_t i = 0; i < entry["Layers"].size(); ++i) {
    const auto& name_json = entry["Layers"][i];
    if (!name_json.is_string()) return fail(ErrorKind::invalid_input, where + ": Layers holds a non-string");
    std::string name = name_json;
    const TarEntry* member = archive.find(name);
    if (member == nullptr)
      return fail(ErrorKind::invalid_input, where + " names layer " + name + ", which is not in the archive");
    LocalLayer layer;
    layer.label = archive.path().string() + ": " + name;
    layer.open = archive.opener(*member);
    layer.stored_size = member->size;
    auto encoding = sniff_stream(layer.open);
    if (!encoding) return fail(encoding.error());
    layer.stored = *encoding;
    layer.stored_digest = digest_from_name(name);
    layer.diff_id = (*diff_ids)[i];
    layer.push_as = layer.stored == Encoding::none ? options.compression : layer.stored;
    if (layer.stored == Encoding::none && layer.stored_digest && *layer.stored_digest != layer.diff_id)
      return fail(ErrorKind::invalid_input, layer.label + ": its name claims " + layer.stored_digest->str() +
                                                " but the config's rootfs.diff_ids says " + layer.diff_id.str());
    if (layer.stored == Encoding::none) layer.stored_digest = layer.diff_id;  // checked while reading
    layer.stored_media_type = layer_media_type(layer.stored);
    image.layers.push_back(std::move(layer));
  }
  return image;
}

}  // namespace

Result<std::vector<LocalImage>> load_docker_archive(std::shared_ptr<const TarArchive> archive, const LoadOptions& options) {
  auto text = archive->read_small(*archive->find("manifest.json"));
  if (!text) return fail(text.error());
  auto json = nlohmann::json::parse(*text, nullptr, false);
  if (json.is_discarded() || !json.is_array() || json.empty())
    return fail(ErrorKind::invalid_input, archive->path().string() + ": manifest.json is not a non-empty JSON array");
  std::vector<LocalImage> images;
  for (size_t i = 0; i < json.size(); ++i) {
    auto image = load_entry(*archive, json[i], i, options);
    if (!image) return fail(image.error());
    images.push_back(std::move(*image));
  }
  return images;
}

}  // namespace sbpipe

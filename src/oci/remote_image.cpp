#include "oci/remote_image.h"

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <memory>

#include "core/clock.h"
#include "core/file.h"
#include "oci/manifest.h"

namespace sbpipe {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string string_of(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

struct Blob {
  Digest digest;
  uint64_t size = 0;
  std::string media_type;
};

// A descriptor ({mediaType, digest, size}); invalid_input naming `where`.
Result<Blob> descriptor(const json& d, const std::string& where) {
  if (!d.is_object() || !d.contains("digest") || !d["digest"].is_string() || !d.contains("size") ||
      !d["size"].is_number_unsigned())
    return fail(ErrorKind::invalid_input, where + ": a descriptor without a digest or size");
  auto digest = Digest::parse(d["digest"].get<std::string>());
  if (!digest) return fail(digest.error().with_context(where));
  return Blob{*digest, d["size"].get<uint64_t>(), string_of(d, "mediaType")};
}

Encoding encoding_of(const std::string& media_type) {
  if (media_type.ends_with("gzip")) return Encoding::gzip;
  if (media_type.ends_with("zstd")) return Encoding::zstd;
  return Encoding::none;
}

// What every layer opened later shares: the bytes fetched so far.
struct Budget {
  uint64_t fetched = 0;
  uint64_t limit = 0;
};

class Loader {
public:
  Loader(Registry& registry, fs::path scratch, const RemoteLimits& limits)
      : m_registry(registry), m_scratch(std::move(scratch)), m_limits(limits), m_budget(std::make_shared<Budget>()) {
    m_budget->limit = limits.max_total_bytes;
  }

  Result<RemoteImages> load(const std::string& reference) {
    m_where = "registry " + m_registry.endpoint().display();
    auto ms = m_limits.deadline.count();
    std::string limit = ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
    m_registry.set_deadline(real_clock().now() + m_limits.deadline, "the pull of " + reference + " (limit " + limit + ")");
    auto top = m_registry.get_manifest(reference);
    if (!top) return fail(top.error());
    if (!*top) return fail(ErrorKind::not_found, m_where + ": no manifest " + reference);
    RemoteImages out;
    out.digest = (*top)->digest;
    m_label = m_registry.endpoint().display() + "@" + out.digest.str();
    auto doc = json::parse((*top)->body, nullptr, false);
    if (doc.is_discarded() || !doc.is_object())
      return fail(ErrorKind::invalid_input, m_where + ": manifest " + reference + " is not a JSON object");
    std::vector<std::pair<json, std::optional<Platform>>> manifests;
    if (doc.contains("manifests")) {
      if (!doc["manifests"].is_array())
        return fail(ErrorKind::invalid_input, m_where + ": index " + reference + ": manifests is not a list");
      if (doc["manifests"].size() > m_limits.max_index_entries)
        return fail(ErrorKind::invalid_input, m_where + ": index " + reference + " lists " +
                                                  std::to_string(doc["manifests"].size()) + " manifests, more than the " +
                                                  std::to_string(m_limits.max_index_entries) + " sbpipe reads");
      for (const auto& entry : doc["manifests"]) {
        auto blob = descriptor(entry, m_where + ": index " + reference);
        if (!blob) return fail(blob.error());
        std::optional<Platform> platform;
        if (entry.contains("platform") && entry["platform"].is_object())
          platform = Platform{string_of(entry["platform"], "os"), string_of(entry["platform"], "architecture"),
                              string_of(entry["platform"], "variant")};
        if (platform && platform->os == "unknown") continue;  // an attestation, not an image
        if (blob->media_type == media_type::oci_index || blob->media_type == media_type::docker_list)
          return fail(ErrorKind::invalid_input,
                      m_where + ": index " + reference + " names another index; sbpipe reads one level");
        auto child = m_registry.get_manifest(blob->digest.str());
        if (!child) return fail(child.error());
        if (!*child)
          return fail(ErrorKind::not_found, m_where + ": index " + reference + " names " + blob->digest.short_str() +
                                                ", which the registry does not hold");
        auto parsed = json::parse((*child)->body, nullptr, false);
        manifests.emplace_back(std::move(parsed), platform);
      }
    } else {
      manifests.emplace_back(std::move(doc), std::nullopt);
    }
    // The whole pull's size from the descriptors, before any layer is fetched.
    uint64_t total = 0;
    std::vector<std::pair<Blob, std::vector<Blob>>> parsed;
    for (const auto& [manifest, platform] : manifests) {
      if (!manifest.is_object() || !manifest.contains("config") || !manifest.contains("layers") || !manifest["layers"].is_array())
        return fail(ErrorKind::invalid_input, m_where + ": a manifest of " + reference + " is not an image manifest");
      auto config = descriptor(manifest["config"], m_where + ": config of " + reference);
      if (!config) return fail(config.error());
      std::vector<Blob> layers;
      for (const auto& l : manifest["layers"]) {
        auto layer = descriptor(l, m_where + ": layer of " + reference);
        if (!layer) return fail(layer.error());
        layers.push_back(*layer);
      }
      for (const auto& b : layers) total = add_capped(total, b.size);
      total = add_capped(total, config->size);
      parsed.emplace_back(*config, std::move(layers));
    }
    if (total > m_limits.max_total_bytes)
      return fail(ErrorKind::invalid_input, m_where + ": the images at " + reference + " hold " + std::to_string(total) +
                                                " bytes, more than the " + std::to_string(m_limits.max_total_bytes) +
                                                " sbpipe pulls");
    for (size_t i = 0; i < parsed.size(); ++i) {
      auto image = load_image(parsed[i].first, parsed[i].second, manifests[i].second);
      if (!image) return fail(image.error());
      out.images.push_back(std::move(*image));
    }
    if (out.images.empty()) return fail(ErrorKind::invalid_input, m_where + ": " + reference + " holds no image");
    return out;
  }

private:
  static uint64_t add_capped(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

  Result<LocalImage> load_image(const Blob& config, const std::vector<Blob>& layers, const std::optional<Platform>& platform) {
    if (config.size > m_limits.max_config_bytes)
      return fail(ErrorKind::invalid_input, m_where + ": config " + config.digest.short_str() + " of " +
                                                std::to_string(config.size) + " bytes is larger than the " +
                                                std::to_string(m_limits.max_config_bytes) + " sbpipe reads");
    std::string text;
    auto got = m_registry.get_blob(
        config.digest,
        [&](std::span<const char> chunk) -> Status {
          text.append(chunk.data(), chunk.size());
          return {};
        },
        config.size);
    if (!got) return fail(got.error());
    m_budget->fetched += config.size;
    LocalImage image;
    image.label = m_label;
    image.config = text;
    image.config_digest = config.digest;
    image.config_media_type = config.media_type;
    auto from_config = platform_of_config(text, m_label);
    if (!from_config) return fail(from_config.error());
    image.platform = from_config->known() || !platform ? *from_config : *platform;
    auto diff_ids = diff_ids_of_config(text, m_label);
    if (!diff_ids) return fail(diff_ids.error());
    if (diff_ids->size() != layers.size())
      return fail(ErrorKind::invalid_input, m_label + ": the manifest has " + std::to_string(layers.size()) +
                                                " layers but the config's rootfs.diff_ids has " +
                                                std::to_string(diff_ids->size()));
    for (size_t i = 0; i < layers.size(); ++i) {
      LocalLayer layer;
      layer.label = m_label + ": layer " + layers[i].digest.short_str();
      layer.open = opener(layers[i], layer.label);
      layer.stored_size = layers[i].size;
      layer.stored = encoding_of(layers[i].media_type);
      layer.stored_digest = layers[i].digest;
      layer.stored_media_type = layers[i].media_type;
      layer.diff_id = (*diff_ids)[i];
      layer.push_as = layer.stored;
      image.layers.push_back(std::move(layer));
    }
    return image;
  }

  // Fetches the blob into a scratch file and streams it from there.
  SourceOpener opener(const Blob& blob, const std::string& label) {
    return
        [registry = &m_registry, scratch = m_scratch, blob, label, budget = m_budget]() -> Result<std::unique_ptr<ByteSource>> {
          if (budget->fetched + blob.size > budget->limit)
            return fail(ErrorKind::invalid_input, label + ": fetching it would pull more than the " +
                                                      std::to_string(budget->limit) + " bytes sbpipe pulls");
          fs::path file = scratch / ("blob-" + blob.digest.hex);
          ::unlink(file.c_str());
          int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
          if (fd < 0) return fail(ErrorKind::io, file.string() + ": " + std::strerror(errno));
          auto written = registry->get_blob(
              blob.digest,
              [&](std::span<const char> chunk) -> Status {
                for (size_t done = 0; done < chunk.size();) {
                  ssize_t w = ::write(fd, chunk.data() + done, chunk.size() - done);
                  if (w < 0 && errno == EINTR) continue;
                  if (w < 0) return fail(ErrorKind::io, file.string() + ": " + std::strerror(errno));
                  done += static_cast<size_t>(w);
                }
                return {};
              },
              blob.size);
          bool closed = ::close(fd) == 0;
          budget->fetched += blob.size;
          if (!written || !closed) {
            ::unlink(file.c_str());
            if (!written) return fail(written.error().with_context(label));
            return fail(ErrorKind::io, file.string() + ": " + std::strerror(errno));
          }
          auto source = file_opener(file, 0, blob.size)();
          ::unlink(file.c_str());  // the open stream keeps the bytes until it is closed
          return source;
        };
  }

  Registry& m_registry;
  fs::path m_scratch;
  RemoteLimits m_limits;
  std::shared_ptr<Budget> m_budget;
  std::string m_where, m_label;
};

}  // namespace

Result<RemoteImages> load_remote_images(Registry& registry, const std::string& reference, const std::filesystem::path& scratch,
                                        const RemoteLimits& limits) {
  Loader loader(registry, scratch, limits);
  return loader.load(reference);
}

}  // namespace sbpipe

#pragma once
// A local image, read from an input (docker-save tarball, OCI layout
// directory or tarball) and ready to push. Blob bytes stay where they are;
// only metadata (manifest.json, index.json, configs) is held in memory.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/stream.h"
#include "oci/digest.h"
#include "oci/layer_codec.h"

namespace sbpipe {

using Annotations = std::map<std::string, std::string>;

struct Platform {
  std::string os;
  std::string architecture;
  std::string variant;
  std::string str() const { return os + "/" + architecture + (variant.empty() ? "" : "/" + variant); }
  // Talos 1.8 and 1.9 installers leave os and architecture empty.
  bool known() const { return !os.empty() && !architecture.empty(); }
};

struct LocalLayer {
  std::string label;  // "<input>: <member>" for messages
  SourceOpener open;  // the stored bytes
  uint64_t stored_size = 0;
  Encoding stored = Encoding::none;     // how the stored bytes are encoded
  std::optional<Digest> stored_digest;  // what the name/descriptor claims the stored bytes hash to
  std::string stored_media_type;        // OCI layouts: the descriptor's media type
  Digest diff_id;                       // the config's rootfs.diff_ids entry
  Encoding push_as = Encoding::none;    // stored, or the compression to apply while pushing
};

struct LocalImage {
  std::string label;  // the input path
  std::string config;
  Digest config_digest;
  std::string config_media_type;
  std::vector<LocalLayer> layers;
  Platform platform;
  // OCI layouts: the manifest as stored, pushed byte for byte unless annotated.
  std::optional<std::string> original_manifest;
  std::string original_manifest_media_type;
};

struct LoadOptions {
  Encoding compression = Encoding::gzip;  // for uncompressed docker-save layers
};

// Reads an INPUT of push-installer: a directory is an OCI layout; a file is
// a docker-save tarball or an OCI layout tarball. Reads only metadata and the
// first bytes of each layer. invalid_input for every malformed input, with
// the path and the reason; nothing has been sent anywhere when it fails.
Result<std::vector<LocalImage>> load_images(const std::string& input, const LoadOptions& options);

// Parses the platform (os and architecture may be empty) and rootfs.diff_ids
// of an image config.
Result<Platform> platform_of_config(const std::string& config, const std::string& label);
Result<std::vector<Digest>> diff_ids_of_config(const std::string& config, const std::string& label);

}  // namespace sbpipe

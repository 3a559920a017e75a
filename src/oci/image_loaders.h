#pragma once
// The input formats behind load_images() (image.h). Internal to src/oci.

#include <functional>
#include <optional>

#include "oci/image.h"
#include "oci/tar_archive.h"

namespace sbpipe {

// Read access to the files of an OCI layout, in a directory or a tarball.
struct LayoutFiles {
  std::string label;
  std::function<std::optional<uint64_t>(const std::string& path)> size_of;  // nullopt: absent
  std::function<SourceOpener(const std::string& path)> opener;
  Result<std::string> read_small(const std::string& path, size_t max_bytes = 4 << 20) const;
};

LayoutFiles layout_files_of_directory(const std::string& dir);
LayoutFiles layout_files_of_archive(std::shared_ptr<const TarArchive> archive);

Result<std::vector<LocalImage>> load_docker_archive(std::shared_ptr<const TarArchive> archive, const LoadOptions& options);
Result<std::vector<LocalImage>> load_oci_layout(const LayoutFiles& files);

// Reads the first bytes of a stream to tell its encoding.
Result<Encoding> sniff_stream(const SourceOpener& open);

}  // namespace sbpipe

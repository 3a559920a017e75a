#include <nlohmann/json.hpp>

#include <filesystem>

#include "core/file.h"
#include "oci/image_loaders.h"

namespace sbpipe {

Result<std::string> LayoutFiles::read_small(const std::string& path, size_t max_bytes) const {
  auto size = size_of(path);
  if (!size) return fail(ErrorKind::invalid_input, label + ": " + path + " is missing");
  if (*size > max_bytes) return fail(ErrorKind::invalid_input, label + ": " + path + " is too large for a metadata file");
  auto source = opener(path)();
  if (!source) return fail(source.error());
  return read_all(**source, max_bytes);
}

LayoutFiles layout_files_of_directory(const std::string& dir) {
  LayoutFiles files;
  files.label = dir;
  files.size_of = [dir](const std::string& path) -> std::optional<uint64_t> {
    std::error_code ec;
    auto full = std::filesystem::path(dir) / path;
    if (!std::filesystem::is_regular_file(full, ec)) return std::nullopt;
    auto size = std::filesystem::file_size(full, ec);
    if (ec) return std::nullopt;
    return size;
  };
  files.opener = [dir](const std::string& path) {
    auto full = std::filesystem::path(dir) / path;
    std::error_code ec;
    uint64_t size = std::filesystem::file_size(full, ec);
    return file_opener(full, 0, ec ? UINT64_MAX : size);
  };
  return files;
}

LayoutFiles layout_files_of_archive(std::shared_ptr<const TarArchive> archive) {
  LayoutFiles files;
  files.label = archive->path().string();
  files.size_of = [archive](const std::string& path) -> std::optional<uint64_t> {
    const TarEntry* e = archive->find(path);
    if (e == nullptr) return std::nullopt;
    return e->size;
  };
  files.opener = [archive](const std::string& path) -> SourceOpener {
    const TarEntry* e = archive->find(path);
    if (e == nullptr)
      return [label = archive->path().string() + ": " + path]() -> Result<std::unique_ptr<ByteSource>> {
        return fail(ErrorKind::invalid_input, label + " is missing");
      };
    return archive->opener(*e);
  };
  return files;
}

Result<Encoding> sniff_stream(const SourceOpener& open) {
  auto source = open();
  if (!source) return fail(source.error());
  char head[4] = {};
  size_t got = 0;
  while (got < sizeof head) {
    auto n = (*source)->read({head + got, sizeof head - got});
    if (!n) return fail(n.error());
    if (*n == 0) break;
    got += *n;
  }
  return sniff_encoding({head, got});
}

Result<Platform> platform_of_config(const std::string& config, const std::string& label) {
  auto j = nlohmann::json::parse(config, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(ErrorKind::invalid_input, label + ": image config is not a JSON object");
  Platform p;
  auto str = [&](const char* key) { return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string(); };
  p.os = str("os");
  p.architecture = str("architecture");
  p.variant = str("variant");
  return p;
}

Result<std::vector<Digest>> diff_ids_of_config(const std::string& config, const std::string& label) {
  auto j = nlohmann::json::parse(config, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("rootfs") || !j["rootfs"].is_object() ||
      !j["rootfs"].contains("diff_ids") || !j["rootfs"]["diff_ids"].is_array())
    return fail(ErrorKind::invalid_input, label + ": image config has no rootfs.diff_ids");
  std::vector<Digest> out;
  for (const auto& item : j["rootfs"]["diff_ids"]) {
    if (!item.is_string()) return fail(ErrorKind::invalid_input, label + ": rootfs.diff_ids holds a non-string");
    auto d = Digest::parse(item.get<std::string>());
    if (!d) return fail(d.error().with_context(label + ": rootfs.diff_ids"));
    out.push_back(*d);
  }
  return out;
}

Result<std::vector<LocalImage>> load_images(const std::string& input, const LoadOptions& options) {
  std::error_code ec;
  if (std::filesystem::is_directory(input, ec)) {
    auto files = layout_files_of_directory(input);
    if (!files.size_of("index.json"))
      return fail(ErrorKind::invalid_input, input + ": directory is not an OCI layout (no index.json)");
    return load_oci_layout(files);
  }
  if (!std::filesystem::exists(input, ec)) return fail(ErrorKind::invalid_input, input + ": no such file or directory");
  auto archive = TarArchive::open(input);
  if (!archive) return fail(archive.error());
  auto shared = std::make_shared<const TarArchive>(std::move(*archive));
  if (shared->find("manifest.json") != nullptr) return load_docker_archive(shared, options);
  if (shared->find("index.json") != nullptr && shared->find("oci-layout") != nullptr)
    return load_oci_layout(layout_files_of_archive(shared));
  return fail(ErrorKind::invalid_input, input + ": no manifest.json (docker-save) nor index.json (OCI layout) in the archive");
}

}  // namespace sbpipe

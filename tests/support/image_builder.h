#pragma once
// Builds test images in memory and writes them as docker-save tarballs (the
// format imager writes) and OCI layouts. Sizes are small: tests only.

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace sbpipe::test {

using Members = std::vector<std::pair<std::string, std::string>>;  // tar member name → bytes

std::string random_bytes(size_t n, uint64_t seed);
std::string sha256_hex(const std::string& data);
std::string gzip_bytes(const std::string& data);
std::string gunzip_bytes(const std::string& data);

// A tar archive (pax) holding `members`, as bytes.
std::string tar_bytes(const Members& members);
void write_tar(const std::filesystem::path& path, const Members& members);

struct TestLayer {
  std::string tar;     // uncompressed layer
  std::string stored;  // as stored in the image (gzip or not)
  bool gzip = true;
  std::string stored_hex() const { return sha256_hex(stored); }
  std::string diff_id_hex() const { return sha256_hex(tar); }
};

TestLayer make_layer(const Members& files, bool gzip);
// The two-layer shape of a Talos installer: a base layer and one with the UKI.
std::vector<TestLayer> installer_layers(const std::string& arch, bool gzip, uint64_t seed, size_t uki_bytes = 600000);

std::string config_json(const std::string& arch, const std::vector<TestLayer>& layers);

// The members of a go-containerregistry docker-save tarball: config
// "sha256:<hex>", layers "<hex>.tar.gz" (or "<hex>.tar"), manifest.json last.
Members docker_save_members(const std::vector<TestLayer>& layers, const std::string& config);

// Writes an OCI layout directory for one image; returns the manifest digest hex.
std::string write_oci_layout(const std::filesystem::path& dir, const std::vector<TestLayer>& layers, const std::string& config);

}  // namespace sbpipe::test

#include "support/image_builder.h"

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>
#include <zlib.h>

#include <random>
#include <stdexcept>

#include "support/process.h"

namespace sbpipe::test {
namespace {

la_ssize_t append_cb(struct archive*, void* data, const void* buf, size_t len) {
  static_cast<std::string*>(data)->append(static_cast<const char*>(buf), len);
  return static_cast<la_ssize_t>(len);
}

std::string layer_descriptor(const TestLayer& l) {
  return std::string("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar") + (l.gzip ? "+gzip" : "") +
         "\",\"digest\":\"sha256:" + l.stored_hex() + "\",\"size\":" + std::to_string(l.stored.size()) + "}";
}

}  // namespace

std::string random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = rng();
    for (size_t j = 0; j < 8 && i + j < n; ++j) out[i + j] = static_cast<char>(v >> (8 * j));
  }
  return out;
}

std::string sha256_hex(const std::string& data) {
  unsigned char md[32];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(hex[md[i] >> 4]);
    out.push_back(hex[md[i] & 15]);
  }
  return out;
}

std::string gzip_bytes(const std::string& data) {
  z_stream z{};
  deflateInit2(&z, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("gzip failed");
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string gunzip_bytes(const std::string& data) {
  z_stream z{};
  inflateInit2(&z, 16 + MAX_WBITS);
  std::string out;
  char buf[65536];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  int rc;
  do {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
  } while (rc == Z_OK);
  inflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("gunzip failed");
  return out;
}

std::string tar_bytes(const Members& members) {
  std::string out;
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_set_bytes_in_last_block(a, 1);
  archive_write_open(a, &out, nullptr, append_cb, nullptr);
  for (const auto& [name, data] : members) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_write_header(a, e);
    archive_write_data(a, data.data(), data.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

void write_tar(const std::filesystem::path& path, const Members& members) { write_file(path, tar_bytes(members)); }

TestLayer make_layer(const Members& files, bool gzip) {
  TestLayer l;
  l.tar = tar_bytes(files);
  l.gzip = gzip;
  l.stored = gzip ? gzip_bytes(l.tar) : l.tar;
  return l;
}

std::vector<TestLayer> installer_layers(const std::string& arch, bool gzip, uint64_t seed, size_t uki_bytes) {
  return {make_layer({{"usr/bin/installer", random_bytes(200000, seed)}, {"etc/os-release", "ID=talos\n"}}, gzip),
          make_layer({{"usr/install/" + arch + "/vmlinuz.efi", random_bytes(uki_bytes, seed + 1)},
                      {"usr/install/" + arch + "/systemd-boot.efi", random_bytes(90000, seed + 2)}},
                     gzip)};
}

std::string config_json(const std::string& arch, const std::vector<TestLayer>& layers) {
  std::string ids;
  for (const auto& l : layers) ids += (ids.empty() ? "" : ",") + std::string("\"sha256:") + l.diff_id_hex() + "\"";
  return "{\"architecture\":\"" + arch + "\",\"os\":\"linux\",\"config\":{\"Entrypoint\":[\"/usr/bin/installer\"]}," +
         "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[" + ids + "]}}";
}

Members docker_save_members(const std::vector<TestLayer>& layers, const std::string& config) {
  Members m;
  std::string config_name = "sha256:" + sha256_hex(config);
  m.emplace_back(config_name, config);
  std::string names;
  for (const auto& l : layers) {
    std::string name = l.stored_hex() + (l.gzip ? ".tar.gz" : ".tar");
    m.emplace_back(name, l.stored);
    names += (names.empty() ? "" : ",") + ("\"" + name + "\"");
  }
  m.emplace_back("manifest.json", "[{\"Config\":\"" + config_name +
                                      "\",\"RepoTags\":[\"ghcr.io/owner/installer:v1\"],\"Layers\":[" + names + "]}]");
  return m;
}

std::string write_oci_layout(const std::filesystem::path& dir, const std::vector<TestLayer>& layers, const std::string& config) {
  auto blobs = dir / "blobs" / "sha256";
  std::string ls;
  for (const auto& l : layers) {
    write_file(blobs / l.stored_hex(), l.stored);
    ls += (ls.empty() ? "" : ",") + layer_descriptor(l);
  }
  write_file(blobs / sha256_hex(config), config);
  std::string manifest =
      "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{"
      "\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:" +
      sha256_hex(config) + "\",\"size\":" + std::to_string(config.size()) + "},\"layers\":[" + ls + "]}";
  write_file(blobs / sha256_hex(manifest), manifest);
  write_file(dir / "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
  write_file(dir / "index.json",
             "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
             "\"digest\":\"sha256:" +
                 sha256_hex(manifest) + "\",\"size\":" + std::to_string(manifest.size()) + "}]}");
  return sha256_hex(manifest);
}

}  // namespace sbpipe::test

#include <doctest/doctest.h>

#include "oci/image.h"
#include "oci/tar_archive.h"
#include "support/image_builder.h"
#include "support/process.h"

using namespace sbpipe;
using namespace sbpipe::test;

TEST_SUITE("unit") {

TEST_CASE("TarArchive: index, member streams, normalised names") {
  TempDir dir;
  std::string big = random_bytes(3 << 20, 5);
  write_tar(dir / "a.tar", {{"./one.txt", "one"}, {"dir/big.bin", big}, {"/abs.txt", "abs"}});
  auto archive = TarArchive::open(dir / "a.tar");
  REQUIRE(archive);
  REQUIRE(archive->entries().size() == 3);
  CHECK(archive->entries()[0].name == "one.txt");
  CHECK(archive->find("abs.txt") != nullptr);
  const TarEntry* e = archive->find("dir/big.bin");
  REQUIRE(e != nullptr);
  CHECK(e->size == big.size());
  auto source = archive->opener(*e)();
  REQUIRE(source);
  CHECK(read_all(**source, 8 << 20).value() == big);
  CHECK(archive->read_small(*archive->find("one.txt")).value() == "one");
}

TEST_CASE("TarArchive: not a tar, missing file") {
  TempDir dir;
  write_file(dir / "text", std::string(2000, 'x'));
  CHECK(TarArchive::open(dir / "text").error().kind() == ErrorKind::invalid_input);
  CHECK(TarArchive::open(dir / "none.tar").error().kind() == ErrorKind::not_found);
}

TEST_CASE("load_images: docker-save and OCI layout metadata") {
  TempDir dir;
  auto layers = installer_layers("arm64", true, 11);
  auto config = config_json("arm64", layers);
  write_tar(dir / "img.tar", docker_save_members(layers, config));
  auto images = load_images((dir / "img.tar").string(), LoadOptions{});
  REQUIRE(images);
  REQUIRE(images->size() == 1);
  const auto& image = images->front();
  CHECK(image.platform.str() == "linux/arm64");
  CHECK(image.config == config);
  REQUIRE(image.layers.size() == 2);
  CHECK(image.layers[1].stored == Encoding::gzip);
  CHECK(image.layers[1].stored_digest->hex == layers[1].stored_hex());
  CHECK(image.layers[1].diff_id.hex == layers[1].diff_id_hex());

  write_oci_layout(dir / "layout", layers, config);
  auto from_layout = load_images((dir / "layout").string(), LoadOptions{});
  REQUIRE(from_layout);
  CHECK(from_layout->front().original_manifest.has_value());

  std::filesystem::create_directories(dir / "empty");
  CHECK(load_images((dir / "empty").string(), LoadOptions{}).error().message() ==
        (dir / "empty").string() + ": directory is not an OCI layout (no index.json)");
}

}  // TEST_SUITE("unit")

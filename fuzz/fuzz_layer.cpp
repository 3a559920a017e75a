// libFuzzer target: a tar layer read as Go's archive/tar reads it
// (oci/tar_reader.h) and applied as containerd applies layers
// (iso/image_fs.h), on arbitrary bytes: the input is applied twice, as two
// layers, so that links, whiteouts and opaque markers meet what a layer
// before put there; every regular file's bytes are read and hashed.
// Built by scripts/fuzz (CMake option SBPIPE_FUZZ).

#include <cstddef>
#include <cstdint>
#include <string>

#include "iso/image_fs.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sbpipe;
  std::string bytes(reinterpret_cast<const char*>(data), size);
  LocalLayer layer;
  layer.label = "fuzz";
  layer.open = memory_opener(bytes);
  ImageFs unpacked(ImageFs::Digests::yes);
  for (int i = 0; i < 2; ++i)
    if (!unpacked.apply(layer)) break;
  size_t nodes = 0;
  unpacked.for_each([&](const std::string&, const FsNode& node) {
    if (node.kind == FsKind::regular && !node.content) __builtin_trap();  // every file has its content record
    ++nodes;
  });
  (void)unpacked.at("/usr/install/amd64/vmlinuz.efi");
  return nodes > (1u << 30) ? 1 : 0;
}

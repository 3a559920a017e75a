// Issue 30: the installer's file system as the node unpacks it, with
// Debian's containerd as the judge. Each variant (tests/support/
// layer_variants.py) spells a path the way a hostile layer can: names with
// "./", "//" and "x/..", writes through symlinked directories (relative,
// absolute, made by an earlier layer), a PAX path beside a GNU long name,
// whiteouts through "." and "..", a PAX global header, a link whose size
// field hides a header, and layers containerd refuses.
//
// containerd runs as a process of the test (its own root, state and socket
// in a scratch directory), imports each tarball with `ctr images import`
// onto the native snapshotter, whose snapshots are plain directory trees:
// the top layer's, prepared as a view, is what a node's installer would see.
// For every variant, sbpipe's merged view (iso/image_fs.h, every path with
// its type, link target and content digest) must equal that tree, and
// `sbpipe verify` must pass exactly when the tree holds the signed boot
// files, and fail when containerd cannot unpack the image at all.

#include <doctest/doctest.h>

#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "core/sha256.h"
#include "integration/push_helpers.h"
#include "iso/image_fs.h"
#include "support/secureboot_fixtures.h"

namespace sbpipe::test {
namespace {

namespace fs = std::filesystem;

using View = std::map<std::string, std::string>;  // "/path" -> "dir", "link:TARGET", "file:SHA256", "other"

std::string file_sha256(const fs::path& path) { return sha256_hex(read_file(path)); }

// containerd's tree, walked without following links.
View tree_view(const fs::path& root) {
  View view;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    std::string path = "/" + it->path().lexically_relative(root).string();  // not fs::relative: it follows links
    auto status = it->symlink_status();
    if (fs::is_symlink(status))
      view[path] = "link:" + fs::read_symlink(it->path()).string();
    else if (fs::is_directory(status))
      view[path] = "dir";
    else if (fs::is_regular_file(status))
      view[path] = "file:" + file_sha256(it->path());
    else
      view[path] = "other";
  }
  return view;
}

// sbpipe's model of the same image.
Result<View> model_view(const fs::path& tarball) {
  auto images = load_images(tarball.string(), LoadOptions{});
  if (!images) return fail(images.error());
  ImageFs unpacked(ImageFs::Digests::yes);
  for (const auto& layer : (*images)[0].layers)
    if (auto st = unpacked.apply(layer); !st) return fail(st.error());
  View view;
  unpacked.for_each([&](const std::string& path, const FsNode& node) {
    switch (node.kind) {
    case FsKind::directory: view[path] = "dir"; break;
    case FsKind::symlink: view[path] = "link:" + node.link_target; break;
    case FsKind::regular: view[path] = "file:" + node.content->sha256; break;
    default: view[path] = "other"; break;
    }
  });
  return view;
}

std::string chain_id(const LocalImage& image) {
  std::string chain;
  for (const auto& layer : image.layers)
    chain = chain.empty() ? layer.diff_id.str() : "sha256:" + sha256_hex(chain + " " + layer.diff_id.str());
  return chain;
}

// A containerd of the test's own, on the native snapshotter.
class Containerd {
public:
  Containerd() {
    REQUIRE_MESSAGE(run({"sh", "-c", "command -v containerd && command -v ctr"}).exit_code == 0,
                    "containerd and ctr are needed (Debian package containerd, in scripts/setup)");
    write_file(m_dir / "config.toml",
               "version = 2\nroot = \"" + (m_dir / "root").string() + "\"\nstate = \"" + (m_dir / "state").string() +
                   "\"\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\", \"io.containerd.snapshotter.v1.btrfs\", "
                   "\"io.containerd.snapshotter.v1.zfs\", \"io.containerd.snapshotter.v1.devmapper\", "
                   "\"io.containerd.snapshotter.v1.aufs\"]\n[grpc]\n  address = \"" +
                   socket() + "\"\n[ttrpc]\n  address = \"" + socket() + ".ttrpc\"\n");
    m_process = std::make_unique<Process>(std::vector<std::string>{"containerd", "--config", (m_dir / "config.toml").string()},
                                          m_dir / "containerd.log");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (ctr({"version"}).exit_code != 0) {
      REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline,
                      "containerd did not start: " << read_file(m_dir / "containerd.log"));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  std::string socket() const { return (m_dir / "c.sock").string(); }
  RunResult ctr(std::vector<std::string> args) {
    args.insert(args.begin(), {"ctr", "-a", socket()});
    return run(args);
  }
  // The tree containerd unpacked for `tarball`, or nullopt with why in `error`.
  std::optional<fs::path> unpack(const fs::path& tarball, const LocalImage& image, std::string& error) {
    auto imported = ctr({"images", "import", "--snapshotter", "native", tarball.string()});
    if (imported.exit_code != 0) {
      error = imported.err + imported.out;
      return std::nullopt;
    }
    std::string key = "view-" + std::to_string(++m_views);
    auto prepared = ctr({"snapshots", "--snapshotter", "native", "prepare", key, chain_id(image)});
    REQUIRE_MESSAGE(prepared.exit_code == 0, prepared.err);
    auto mounts = ctr({"snapshots", "--snapshotter", "native", "mounts", "/unused", key});
    REQUIRE_MESSAGE(mounts.exit_code == 0, mounts.err);
    // "mount -t bind SOURCE /unused -o rbind,rw"
    std::istringstream words(mounts.out);
    std::string word, source;
    for (int i = 0; i < 4 && words >> word; ++i) source = word;
    return fs::path(source);
  }

private:
  TempDir m_dir;
  std::unique_ptr<Process> m_process;
  int m_views = 0;
};

std::string diff(const View& judge, const View& model) {
  std::string out;
  for (const auto& [path, what] : judge)
    if (!model.contains(path) || model.at(path) != what)
      out += "  " + path + ": containerd " + what + ", sbpipe " + (model.contains(path) ? model.at(path) : "(absent)") + "\n";
  for (const auto& [path, what] : model)
    if (!judge.contains(path)) out += "  " + path + ": containerd (absent), sbpipe " + what + "\n";
  return out;
}

}  // namespace

TEST_SUITE("integration") {

TEST_CASE("issue 30: sbpipe unpacks an installer as containerd does, and verify judges what containerd unpacked") {
  TempDir dir;
  auto keys = make_key_pair(dir.path(), "uki", "Layer Owner");
  fs::path unsigned_uki = dir / "uki-unsigned.efi", uki = dir / "uki.efi", sdboot = dir / "sdboot.efi";
  build_uki(unsigned_uki, UkiSpec{}, dir / "build");
  sbsign(unsigned_uki, uki, keys);
  sbsign(k_systemd_boot, sdboot, keys);
  must_run({"/usr/bin/python3", test_support_dir() + "/layer_variants.py", dir.path().string(), uki.string(), sdboot.string(),
            unsigned_uki.string()});
  const std::string signed_uki = "file:" + file_sha256(uki), signed_sdboot = "file:" + file_sha256(sdboot);
  Containerd containerd;
  std::istringstream names(read_file(dir / "variants.txt"));
  int variants = 0, refused = 0, accepted = 0;
  for (std::string name; std::getline(names, name);) {
    ++variants;
    CAPTURE(name);
    fs::path tarball = dir / (name + ".tar");
    auto images = load_images(tarball.string(), LoadOptions{});
    REQUIRE(images);
    std::string why;
    auto tree = containerd.unpack(tarball, (*images)[0], why);
    auto model = model_view(tarball);
    auto verdict = sbpipe({"verify", tarball.string(), "--cert", keys.cert.string()});
    if (!tree) {
      // containerd cannot unpack it: no node can install it, so it must not pass.
      ++refused;
      CHECK_MESSAGE(!model, "containerd refused (" << why << ") but sbpipe's model applied every layer");
      CHECK_MESSAGE(verdict.exit_code != 0, verdict.out);
      CHECK_MESSAGE(verdict.err.find("containerd cannot apply this layer") != std::string::npos, verdict.err);
      continue;
    }
    REQUIRE_MESSAGE(model, model.error().message());
    View judge = tree_view(*tree);
    CHECK_MESSAGE(judge == *model, "views differ:\n" << diff(judge, *model));
    bool boots_signed = judge[std::string("/usr/install/amd64/vmlinuz.efi")] == signed_uki &&
                        judge[std::string("/usr/install/amd64/systemd-boot.efi")] == signed_sdboot;
    if (boots_signed) {
      ++accepted;
      CHECK_MESSAGE(verdict.exit_code == 0, verdict.out << verdict.err);
    } else {
      CHECK_MESSAGE(verdict.exit_code == 1, verdict.out << verdict.err);
      bool names_uki = false;
      std::istringstream lines(verdict.out);
      for (std::string line; std::getline(lines, line);)
        names_uki = names_uki ||
                    (line.find("usr/install/amd64/vmlinuz.efi") != std::string::npos && line.find("FAIL") != std::string::npos);
      CHECK_MESSAGE(names_uki, verdict.out);
    }
  }
  CHECK(variants >= 20);
  CHECK(refused == 3);
  CHECK(accepted >= 1);
}

}  // TEST_SUITE("integration")

}  // namespace sbpipe::test

// containerd's layer application, restated over an in-memory tree; see
// image_fs.h. The comments name the containerd v1.6.20 and continuity v0.3.0
// functions each step follows.

#include "iso/image_fs.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>

#include "core/go_path.h"
#include "core/sha256.h"

namespace sbpipe {
namespace {

namespace fs = std::filesystem;

// Linux refuses longer names (ENAMETOOLONG), so containerd fails on them.
constexpr size_t k_path_max = 4095;
constexpr size_t k_name_max = 255;

std::vector<std::string> steps_of(std::string_view path) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < path.size()) {
    size_t slash = path.find('/', at);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > at) out.emplace_back(path.substr(at, slash - at));
    at = slash + 1;
  }
  return out;
}

enum class Miss { none, absent, not_dir, loop };

struct Found {
  FsNode* node = nullptr;
  Miss miss = Miss::none;
};

// Path resolution as the kernel does it (every step but the last follows
// symlinks; the last one too when `follow_last`), inside the root.
Found walk(FsNode& root, std::string_view path, bool follow_last) {
  std::vector<FsNode*> dirs{&root};
  auto steps = steps_of(path);
  std::deque<std::string> pending(steps.begin(), steps.end());
  int links = 0;
  while (!pending.empty()) {
    std::string step = std::move(pending.front());
    pending.pop_front();
    if (step == ".") continue;
    if (step == "..") {
      if (dirs.size() > 1) dirs.pop_back();
      continue;
    }
    FsNode* dir = dirs.back();
    if (dir->kind != FsKind::directory) return {nullptr, Miss::not_dir};
    auto it = dir->children.find(step);
    if (it == dir->children.end()) return {nullptr, Miss::absent};
    FsNode* child = it->second.get();
    bool last = pending.empty();
    if (child->kind == FsKind::symlink && (!last || follow_last)) {
      if (++links > 40) return {nullptr, Miss::loop};
      if (child->link_target.empty()) return {nullptr, Miss::absent};
      if (child->link_target.starts_with('/')) dirs.resize(1);
      auto target = steps_of(child->link_target);
      pending.insert(pending.begin(), target.begin(), target.end());
      continue;
    }
    if (last) return {child, Miss::none};
    dirs.push_back(child);
  }
  return {dirs.back(), Miss::none};
}

std::string miss_text(Miss miss) {
  switch (miss) {
  case Miss::not_dir: return "not a directory";
  case Miss::loop: return "too many levels of symbolic links";
  default: return "no such file or directory";
  }
}

// What a member could not do, as containerd would fail.
struct Refusal {
  std::string why;
};

// continuity fs.RootPath (with walkLinks and walkLink): `path` with its
// symlinks resolved inside the root, as an absolute clean path.
class RootPath {
public:
  explicit RootPath(FsNode& root) : m_root(root) {}

  Result<std::string> operator()(std::string path) {
    if (path.empty()) return std::string("/");
    int links = 0;
    for (;;) {
      int before = links;
      auto next = walk_links(path, links);
      if (!next) return next;
      path = std::move(*next);
      if (before == links) {
        std::string rooted = go_join("/", path);
        if (path == rooted) return path;
        path = std::move(rooted);
      }
    }
  }

private:
  struct Step {
    std::string path;
    bool link = false;
  };

  Result<Step> walk_link(const std::string& p, int& links) {
    if (links > 255) return fail(ErrorKind::invalid_input, "too many links");
    std::string path = go_join("/", p);
    if (path == "/") return Step{path, false};
    if (path.size() > k_path_max) return fail(ErrorKind::invalid_input, "file name too long");
    Found found = walk(m_root, path, false);
    if (found.miss == Miss::absent) return Step{path, false};  // not there yet: no link
    if (found.miss != Miss::none) return fail(ErrorKind::invalid_input, "lstat " + path + ": " + miss_text(found.miss));
    if (found.node->kind != FsKind::symlink) return Step{path, false};
    ++links;
    return Step{found.node->link_target, true};
  }

  Result<std::string> walk_links(const std::string& path, int& links) {
    if (path.size() > k_path_max) return fail(ErrorKind::invalid_input, "file name too long");
    auto [dir, file] = go_split(path);
    if (dir.empty()) {
      auto step = walk_link(file, links);
      if (!step) return fail(step.error());
      return step->path;
    }
    if (file.empty()) {
      if (dir == "/") return dir;
      return walk_links(dir.substr(0, dir.size() - 1), links);
    }
    auto new_dir = walk_links(dir, links);
    if (!new_dir) return new_dir;
    auto step = walk_link(go_join(*new_dir, file), links);
    if (!step) return fail(step.error());
    if (!step->link || step->path.starts_with('/')) return step->path;
    return go_join(*new_dir, step->path);
  }

  FsNode& m_root;
};

// os.RemoveAll: whatever is at `path` (its last step not followed) goes.
void remove_all(FsNode& root, const std::string& path) {
  if (path == "/") return;
  Found parent = walk(root, go_dir(path), true);
  if (parent.node == nullptr || parent.node->kind != FsKind::directory) return;
  parent.node->children.erase(go_base(path));
}

// The ".wh..wh..opq" walk (applyNaive's convertWhiteout): everything below
// `dir` that this layer did not unpack goes; kept directories are walked.
void remove_not_unpacked(FsNode& dir, const std::string& dir_path, const std::set<std::string>& unpacked) {
  for (auto it = dir.children.begin(); it != dir.children.end();) {
    std::string child = (dir_path == "/" ? "" : dir_path) + "/" + it->first;
    if (!unpacked.contains(child)) {
      it = dir.children.erase(it);
      continue;
    }
    if (it->second->kind == FsKind::directory) remove_not_unpacked(*it->second, child, unpacked);
    ++it;
  }
}

// archive/tar.go validateWhiteout: the whited-out name stays in its
// directory. Checked with a root prefix as containerd's paths have one
// (".wh.." in the root must fail as it does there).
bool whiteout_stays_inside(const std::string& dir, const std::string& name) {
  std::string rooted_dir = "/root" + (dir == "/" ? std::string() : dir);
  return go_join(rooted_dir, name).starts_with(rooted_dir + "/");
}

// Copies (and hashes) a member's bytes.
Status read_content(ArchiveWalker& walker, FsContent& content, const std::optional<fs::path>& dest, bool digest) {
  int fd = -1;
  if (dest) {
    fd = ::open(dest->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return fail(ErrorKind::io, dest->string() + ": " + std::strerror(errno));
  }
  auto failed = [&](Error e) -> Status {
    if (fd >= 0) {
      ::close(fd);
      ::unlink(dest->c_str());
    }
    return fail(std::move(e));
  };
  Sha256 hash;
  std::string chunk(k_stream_chunk, '\0');
  for (;;) {
    auto n = walker.read(std::span<char>(chunk.data(), chunk.size()));
    if (!n) return failed(n.error());
    if (*n == 0) break;
    if (digest) hash.update(std::span<const char>(chunk.data(), *n));
    for (size_t done = 0; fd >= 0 && done < *n;) {
      ssize_t w = ::write(fd, chunk.data() + done, *n - done);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return failed(Error(ErrorKind::io, dest->string() + ": " + std::strerror(errno)));
      done += static_cast<size_t>(w);
    }
  }
  if (fd >= 0 && ::close(fd) != 0) return fail(ErrorKind::io, dest->string() + ": " + std::strerror(errno));
  if (digest) content.sha256 = hash.finish_hex();
  if (dest) content.file = *dest;
  return {};
}

std::optional<FsKind> node_kind(MemberKind kind) {
  switch (kind) {
  case MemberKind::directory: return FsKind::directory;
  case MemberKind::regular: return FsKind::regular;
  case MemberKind::symlink: return FsKind::symlink;
  case MemberKind::device: return FsKind::device;
  case MemberKind::fifo: return FsKind::fifo;
  default: return std::nullopt;
  }
}

}  // namespace

ImageFs::ImageFs(Digests digests) : m_digests(digests) {}

Status ImageFs::apply(const LocalLayer& layer, const Keep& keep) {
  auto source = layer.open();
  if (!source) return fail(source.error());
  auto walker = ArchiveWalker::open(std::move(*source), ArchiveFormat::tar, layer.label);
  if (!walker) return fail(walker.error());
  std::set<std::string> unpacked;  // applyNaive's unpackedPaths, for opaque whiteouts
  return (*walker)->for_each([&](const ArchiveMember& member) { return apply_member(**walker, member, keep, unpacked); });
}

Status ImageFs::apply_member(ArchiveWalker& walker, const ArchiveMember& member, const Keep& keep,
                             std::set<std::string>& unpacked) {
  auto refuse = [&](const std::string& why) {
    return fail(ErrorKind::invalid_input, walker.label() + ": " + member.name + ": containerd cannot apply this layer (" + why +
                                              "), so no node can install it");
  };
  if (member.name.size() > k_path_max || member.link_target.size() > k_path_max) return refuse("file name too long");
  std::string name = go_clean(member.name);
  for (const auto& step : steps_of(name))
    if (step.size() > k_name_max) return refuse("file name too long");
  RootPath root_path(m_root);
  // applyNaive: the parent resolved inside the root, then the base joined.
  auto [dir_part, base] = go_split(name);
  auto parent = root_path(dir_part);
  if (!parent) return refuse("failed to get root path: " + parent.error().message());
  std::string path = go_join(*parent, go_join("/", base));
  if (path == "/") return {};  // resolved to the root: skipped
  if (*parent != "/") {
    // mkparent: every missing directory made; an existing non-directory fails.
    std::string wanted = base.empty() ? go_dir(path) : *parent;
    std::vector<std::string> missing;
    for (std::string p = wanted; p != "/"; p = go_dir(p)) {
      Found found = walk(m_root, p, false);
      if (found.miss == Miss::none) {
        if (found.node->kind != FsKind::directory) return refuse("mkparent " + p + ": not a directory");
        break;
      }
      if (found.miss != Miss::absent) return refuse("mkparent " + p + ": " + miss_text(found.miss));
      missing.push_back(p);
    }
    for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
      Found up = walk(m_root, go_dir(*it), true);
      if (up.node == nullptr || up.node->kind != FsKind::directory) return refuse("mkdir " + *it + ": " + miss_text(up.miss));
      auto& slot = up.node->children[go_base(*it)];
      if (!slot) slot = std::make_unique<FsNode>();
    }
  }
  // validateWhiteout, then convertWhiteout.
  std::string leaf = go_base(path), dir = go_dir(path);
  if (leaf == ".wh..wh..opq") {
    Found d = walk(m_root, dir, false);
    if (d.node == nullptr) return refuse("failed to convert whiteout file: lstat " + dir + ": " + miss_text(d.miss));
    if (d.node->kind == FsKind::directory) remove_not_unpacked(*d.node, dir, unpacked);
    return {};
  }
  if (leaf.starts_with(".wh.")) {
    if (!whiteout_stays_inside(dir, leaf.substr(4))) return refuse("invalid whiteout name: " + leaf);
    remove_all(m_root, go_join(dir, leaf.substr(4)));
    return {};
  }
  // An entry replaces what is there, unless both are directories.
  Found existing = walk(m_root, path, false);
  if (existing.node != nullptr && !(existing.node->kind == FsKind::directory && member.kind == MemberKind::directory))
    remove_all(m_root, path);
  Found up = walk(m_root, dir, true);
  if (up.node == nullptr || up.node->kind != FsKind::directory) return refuse(path + ": " + miss_text(up.miss));
  auto& children = up.node->children;
  std::optional<std::filesystem::path> dest;
  switch (member.kind) {
  case MemberKind::global_header:
    unpacked.insert(path);  // createTarFile makes nothing, after the path was cleared
    return {};
  case MemberKind::other:
    return refuse("unhandled tar header type " + std::to_string(static_cast<int>(static_cast<unsigned char>(member.typeflag))));
  case MemberKind::hardlink: {
    // hardlinkRootPath, then link(2), which does not follow a last symlink.
    auto [link_dir, link_base] = go_split(member.link_target);
    auto target_dir = root_path(link_dir);
    if (!target_dir) return refuse("failed to get root path: " + target_dir.error().message());
    std::string target = go_join(*target_dir, link_base);
    Found found = walk(m_root, target, false);
    if (found.node == nullptr) return refuse("link " + target + ": " + miss_text(found.miss));
    if (found.node->kind == FsKind::directory) return refuse("link " + target + ": operation not permitted (a directory)");
    auto node = std::make_unique<FsNode>();
    node->kind = found.node->kind;
    node->link_target = found.node->kind == FsKind::symlink ? found.node->link_target : member.link_target;
    node->content = found.node->content;
    node->hardlink = true;
    if (keep) keep(path, member.kind);
    children[leaf] = std::move(node);
    break;
  }
  default: {
    auto kind = node_kind(member.kind);
    if (!kind) return refuse("unhandled entry");
    if (existing.node != nullptr && *kind == FsKind::directory && existing.node->kind == FsKind::directory) {
      if (keep) keep(path, member.kind);
      break;  // merged
    }
    auto node = std::make_unique<FsNode>();
    node->kind = *kind;
    if (*kind == FsKind::symlink) node->link_target = member.link_target;
    if (keep) dest = keep(path, member.kind);
    if (*kind == FsKind::regular) {
      auto content = std::make_shared<FsContent>();
      content->size = member.size;
      content->sparse = member.sparse;
      if (member.sparse && dest) return refuse("a sparse file, whose bytes sbpipe does not read, at a path it must check");
      if (!member.sparse && (dest || m_digests == Digests::yes))
        if (auto st = read_content(walker, *content, dest, m_digests == Digests::yes); !st) return st;
      node->content = std::move(content);
    }
    children[leaf] = std::move(node);
    break;
  }
  }
  unpacked.insert(path);
  return {};
}

const FsNode* ImageFs::at(std::string_view path) const {
  const FsNode* node = &m_root;
  for (const auto& step : steps_of(path)) {
    if (node->kind != FsKind::directory) return nullptr;
    auto it = node->children.find(step);
    if (it == node->children.end()) return nullptr;
    node = it->second.get();
  }
  return node;
}

void ImageFs::for_each(const std::function<void(const std::string& path, const FsNode& node)>& visit) const {
  std::function<void(const FsNode&, const std::string&)> down = [&](const FsNode& dir, const std::string& prefix) {
    for (const auto& [name, child] : dir.children) {
      std::string path = prefix + "/" + name;
      visit(path, *child);
      if (child->kind == FsKind::directory) down(*child, path);
    }
  };
  down(m_root, "");
}

}  // namespace sbpipe

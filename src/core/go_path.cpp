// Go's filepath.Clean, Join, Split, Dir and Base (go1.19,
// src/path/filepath/path.go and path_unix.go) for '/' names, restated.

#include "core/go_path.h"

namespace sbpipe {

std::string go_clean(std::string_view path) {
  if (path.empty()) return ".";
  const bool rooted = path[0] == '/';
  const size_t n = path.size();
  std::string out;
  size_t r = 0, dotdot = 0;  // dotdot: where ".." must stop backtracking
  if (rooted) {
    out.push_back('/');
    r = dotdot = 1;
  }
  while (r < n) {
    if (path[r] == '/') {
      ++r;  // empty element
    } else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/')) {
      ++r;  // "."
    } else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == n || path[r + 2] == '/')) {
      r += 2;  // "..": back to the last separator
      if (out.size() > dotdot) {
        size_t w = out.size() - 1;
        while (w > dotdot && out[w] != '/') --w;
        out.resize(w);  // the separator goes too
      } else if (!rooted) {
        if (!out.empty()) out.push_back('/');
        out += "..";
        dotdot = out.size();
      }
    } else {
      if ((rooted && out.size() != 1) || (!rooted && !out.empty())) out.push_back('/');
      for (; r < n && path[r] != '/'; ++r) out.push_back(path[r]);
    }
  }
  if (out.empty()) return std::string(".");  // (not `out = "."`: GCC 12's -Wrestrict misfires on it at -O2)
  return out;
}

std::string go_join(std::string_view a, std::string_view b) {
  if (a.empty() && b.empty()) return "";
  if (a.empty()) return go_clean(b);
  if (b.empty()) return go_clean(a);
  std::string joined(a);
  joined.push_back('/');
  joined.append(b);
  return go_clean(joined);
}

GoSplit go_split(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return GoSplit{"", std::string(path)};
  return GoSplit{std::string(path.substr(0, slash + 1)), std::string(path.substr(slash + 1))};
}

std::string go_dir(std::string_view path) {
  size_t slash = path.rfind('/');
  return go_clean(slash == std::string_view::npos ? std::string_view() : path.substr(0, slash + 1));
}

std::string go_base(std::string_view path) {
  if (path.empty()) return ".";
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (auto slash = path.rfind('/'); slash != std::string_view::npos) path = path.substr(slash + 1);
  if (path.empty()) return "/";
  return std::string(path);
}

}  // namespace sbpipe

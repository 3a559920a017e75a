#pragma once
// Lexical path arithmetic on '/'-separated names, exactly as Go's path and
// path/filepath packages do it on Linux (go1.19 src/path/filepath/path.go:
// Clean, Join, Split, Dir, Base). Tar names reach containerd through these
// functions, so sbpipe uses the same ones where it must agree with it.
// Nothing here touches the file system.

#include <string>
#include <string_view>

namespace sbpipe {

// filepath.Clean: the shortest equivalent name: repeated slashes, "." steps
// and ".." steps after a name resolved; ".." at the root dropped ("/.." is
// "/"), leading ".." of a relative name kept; "" becomes ".".
std::string go_clean(std::string_view path);

// filepath.Join: the non-empty elements joined with '/', then cleaned; ""
// when every element is empty.
std::string go_join(std::string_view a, std::string_view b);

struct GoSplit {
  std::string dir;   // up to and including the last '/'; "" when none
  std::string file;  // after it
};
// filepath.Split.
GoSplit go_split(std::string_view path);

// filepath.Dir and filepath.Base.
std::string go_dir(std::string_view path);
std::string go_base(std::string_view path);

}  // namespace sbpipe

#include "release/target_spec.h"

#include <iterator>

namespace sbpipe {
namespace {

// The schemes a target is written with, and how each is read, in the order of TargetSpec's
// alternatives (target_scheme indexes this table by the variant's index).
struct Scheme {
  std::string_view prefix;
  Result<TargetSpec> (*read)(std::string_view rest);
};

constexpr Scheme k_schemes[] = {
    {"github",
     [](std::string_view rest) -> Result<TargetSpec> {
       if (!rest.empty()) return fail(ErrorKind::usage, "github takes nothing after it");
       return GitHubSpec{};
     }},
    {"dir:",
     [](std::string_view rest) -> Result<TargetSpec> {
       if (rest.empty()) return fail(ErrorKind::usage, "dir: needs a path");
       return DirSpec{std::filesystem::path(rest)};
     }},
};

static_assert(std::size(k_schemes) == std::variant_size_v<TargetSpec>);

}  // namespace

Result<TargetSpec> parse_target_spec(std::string_view text, std::string_view setting) {
  for (const auto& scheme : k_schemes)
    if (text.starts_with(scheme.prefix)) {
      auto spec = scheme.read(text.substr(scheme.prefix.size()));
      if (spec) return spec;
      break;
    }
  return fail(ErrorKind::usage, std::string(setting) + " '" + std::string(text) + "': expected github or dir:PATH");
}

std::string_view target_scheme(const TargetSpec& spec) { return k_schemes[spec.index()].prefix; }

bool has_release_ids(const TargetSpec& spec) { return std::holds_alternative<GitHubSpec>(spec); }

std::string describe_target(const TargetSpec& spec, const std::string& tag, const std::string& repo) {
  if (const auto* dir = std::get_if<DirSpec>(&spec)) return "dir " + (dir->root / tag).string();
  return "GitHub release " + tag + " of " + repo;
}

}  // namespace sbpipe

#include "plan/talos_version.h"

#include <charconv>

namespace sbpipe {
namespace {

const char* const k_rule = "a Talos version is vMAJOR.MINOR.PATCH[-PRE], such as v1.12.4 or v1.14.0-rc.1";

// A decimal number without sign or leading zero (as semver writes them).
bool read_number(std::string_view& text, int& value) {
  size_t n = 0;
  while (n < text.size() && text[n] >= '0' && text[n] <= '9') ++n;
  if (n == 0 || n > 6 || (n > 1 && text[0] == '0')) return false;
  std::from_chars(text.data(), text.data() + n, value);
  text.remove_prefix(n);
  return true;
}

bool tag_character(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' || c == '-' || c == '_';
}

}  // namespace

std::string TalosVersion::text() const {
  return "v" + std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch) + (pre.empty() ? "" : "-" + pre);
}

std::string supported_talos_range() {
  return "v" + std::to_string(k_oldest_major) + "." + std::to_string(k_oldest_minor) + "." + std::to_string(k_oldest_patch) +
         " through the v" + std::to_string(k_newest_major) + "." + std::to_string(k_newest_minor) + " line";
}

Result<TalosVersion> parse_talos_version(std::string_view text, std::string_view what) {
  auto refuse = [&] {
    return fail(ErrorKind::usage, std::string(what) + " '" + std::string(text) + "': " + k_rule + " (sbpipe supports " +
                                      supported_talos_range() + ")");
  };
  std::string_view rest = text;
  TalosVersion v;
  if (!rest.starts_with('v')) return refuse();
  rest.remove_prefix(1);
  if (!read_number(rest, v.major) || !rest.starts_with('.')) return refuse();
  rest.remove_prefix(1);
  if (!read_number(rest, v.minor) || !rest.starts_with('.')) return refuse();
  rest.remove_prefix(1);
  if (!read_number(rest, v.patch)) return refuse();
  if (!rest.empty()) {
    if (rest.front() != '-' || rest.size() == 1 || rest.size() > 100) return refuse();
    rest.remove_prefix(1);
    for (char c : rest)
      if (!tag_character(c) || c == '_') return refuse();
    if (rest.front() == '.' || rest.back() == '.' || rest.find("..") != std::string_view::npos) return refuse();
    v.pre = std::string(rest);
  }
  return v;
}

Result<TalosVersion> supported_talos_version(std::string_view text, std::string_view what) {
  auto v = parse_talos_version(text, what);
  if (!v) return v;
  TalosVersion oldest{k_oldest_major, k_oldest_minor, k_oldest_patch, ""};
  bool too_new = std::pair{v->major, v->minor} > std::pair{k_newest_major, k_newest_minor};
  if (*v < oldest || too_new)
    return fail(ErrorKind::usage, std::string(what) + " '" + std::string(text) + "': Talos " + std::to_string(v->major) + "." +
                                      std::to_string(v->minor) + " is not supported (sbpipe supports " + supported_talos_range() +
                                      "; docs/talos-versions.md)");
  return v;
}

Status check_release_tag(std::string_view tag, std::string_view talos_version) {
  if (tag == "latest")
    return fail(ErrorKind::usage, "--tag 'latest': a release is built for one Talos version, never for whatever 'latest' is; " +
                                      std::string(k_rule) + " (sbpipe supports " + supported_talos_range() + ")");
  if (talos_version.empty()) {
    if (auto v = supported_talos_version(tag, "--tag"); !v) return fail(v.error());
    return {};
  }
  if (auto v = supported_talos_version(talos_version, "imager.talos_version"); !v) return fail(v.error());
  bool plain = !tag.empty() && tag.size() <= 128 && tag.front() != '.' && tag.front() != '-';
  for (char c : tag) plain = plain && tag_character(c);
  if (!plain)
    return fail(ErrorKind::usage, "--tag '" + std::string(tag) +
                                      "': not an image tag (letters, digits, '.', '_' and '-', at most 128, not first a '.' "
                                      "or '-')");
  return {};
}

}  // namespace sbpipe

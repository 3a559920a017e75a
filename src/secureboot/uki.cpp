#include "secureboot/uki.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace sbpipe {
namespace {
constexpr size_t k_max_small_section = 1 << 20;

std::unexpected<Error> bad_uki(std::string reason) { return fail(ErrorKind::invalid_input, "UKI " + std::move(reason)); }

// A group of sections (the base, or one profile) with no name twice.
Status check_unique(const std::vector<const PeSection*>& group, std::string_view where) {
  std::set<std::string_view> names;
  for (const auto* s : group)
    if (!names.insert(s->name).second)
      return bad_uki(std::string(where) + " has two " + s->name +
                     " sections; systemd-stub would use another one than sbpipe checks");
  return {};
}

bool valid_profile_id(std::string_view id) {
  return !id.empty() && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

// `.profile`: os-release style lines, ID= required.
Status parse_profile(std::string_view text, size_t index, UkiProfile& profile) {
  std::string where = ".profile section " + std::to_string(index + 1);
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    std::string_view line = text.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
    at = end == std::string_view::npos ? text.size() : end + 1;
    if (line.empty() || line.front() == '#') continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0)
      return bad_uki(where + " cannot be parsed: '" + std::string(line) + "' is not KEY=VALUE");
    std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "ID") profile.id = std::string(value);
    if (key == "TITLE") profile.title = std::string(value);
  }
  if (!valid_profile_id(profile.id)) return bad_uki(where + " cannot be parsed: no valid ID=");
  return {};
}

Result<std::string> small_section(const RandomAccess& file, const PeSection* s) {
  if (s == nullptr) return std::string();
  return read_section(file, *s, k_max_small_section);
}

std::string effective_cmdline(std::string data) {
  data = data.substr(0, data.find('\0'));
  while (!data.empty() && std::isspace(static_cast<unsigned char>(data.back()))) data.pop_back();
  return data;
}

}  // namespace

std::string_view role_name(EfiRole role) {
  switch (role) {
  case EfiRole::uki: return "uki";
  case EfiRole::systemd_boot: return "systemd-boot";
  case EfiRole::other: return "efi";
  }
  return "efi";
}

EfiRole role_of(const PeImage& image) {
  if (image.find_section(".linux") != nullptr) return EfiRole::uki;
  if (image.find_section(".sdmagic") != nullptr) return EfiRole::systemd_boot;
  return EfiRole::other;
}

const PeSection* UkiProfile::section(std::string_view name) const {
  for (const auto* s : sections)
    if (s->name == name) return s;
  return nullptr;
}

std::vector<std::string> cmdline_words(std::string_view cmdline) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < cmdline.size()) {
    while (i < cmdline.size() && std::isspace(static_cast<unsigned char>(cmdline[i]))) ++i;
    size_t start = i;
    while (i < cmdline.size() && !std::isspace(static_cast<unsigned char>(cmdline[i]))) ++i;
    if (i > start) words.emplace_back(cmdline.substr(start, i - start));
  }
  return words;
}

std::optional<std::string> os_release_value(std::string_view text, std::string_view key) {
  size_t at = 0;
  while (at <= text.size()) {
    size_t end = text.find('\n', at);
    std::string_view line = text.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
    if (line.size() > key.size() && line.starts_with(key) && line[key.size()] == '=') {
      std::string_view value = line.substr(key.size() + 1);
      if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front())
        value = value.substr(1, value.size() - 2);
      return std::string(value);
    }
    if (end == std::string_view::npos) break;
    at = end + 1;
  }
  return std::nullopt;
}

Result<UkiInfo> read_uki(const RandomAccess& file, const PeImage& image) {
  // Split the section table at each `.profile`.
  std::vector<const PeSection*> base;
  std::vector<std::vector<const PeSection*>> groups;
  for (const auto& s : image.sections) {
    if (s.name == ".profile") groups.emplace_back();
    (groups.empty() ? base : groups.back()).push_back(&s);
  }
  if (auto st = check_unique(base, "the base (sections before the first .profile)"); !st) return fail(st.error());

  UkiInfo info;
  auto add_profile = [&](const std::vector<const PeSection*>& own, size_t index) -> Status {
    UkiProfile profile;
    if (!own.empty()) {
      auto text = read_section(file, *own.front(), k_max_small_section);
      if (!text) return fail(text.error());
      if (auto st = parse_profile(*text, index, profile); !st) return st;
      if (auto st = check_unique(own, "profile " + profile.id); !st) return st;
    }
    for (const auto* s : base) {
      bool replaced = std::any_of(own.begin(), own.end(), [&](const PeSection* o) { return o->name == s->name; });
      if (!replaced) profile.sections.push_back(s);
    }
    profile.sections.insert(profile.sections.end(), own.begin(), own.end());
    std::sort(profile.sections.begin(), profile.sections.end(),
              [](const PeSection* a, const PeSection* b) { return a < b; });  // the section table's order
    auto cmdline = small_section(file, profile.section(".cmdline"));
    if (!cmdline) return fail(cmdline.error());
    profile.kernel_cmdline = parse_kernel_cmdline(*cmdline);
    profile.cmdline = effective_cmdline(std::move(*cmdline));
    if (profile.section(".pcrsig") != nullptr) info.has_pcrsig = true;
    info.profiles.push_back(std::move(profile));
    return {};
  };
  if (groups.empty()) {
    if (auto st = add_profile({}, 0); !st) return fail(st.error());
  }
  for (size_t i = 0; i < groups.size(); ++i)
    if (auto st = add_profile(groups[i], i); !st) return fail(st.error());

  const UkiProfile& first = info.profiles.front();
  auto osrel = small_section(file, first.section(".osrel"));
  if (!osrel) return fail(osrel.error());
  if (first.section(".osrel") != nullptr) {
    info.os_version = os_release_value(*osrel, "VERSION");
    if (!info.os_version) info.os_version = os_release_value(*osrel, "VERSION_ID");
  }
  if (const auto* key = first.section(".pcrpkey")) {
    auto pem = small_section(file, key);
    if (!pem) return fail(pem.error());
    info.pcrpkey = std::move(*pem);
  }
  return info;
}

}  // namespace sbpipe

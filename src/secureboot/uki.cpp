#include "secureboot/uki.h"

#include <cctype>

namespace sbpipe {
namespace {
constexpr size_t k_max_small_section = 1 << 20;
}

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
  UkiInfo info;
  auto section = [&](std::string_view name) -> Result<std::optional<std::string>> {
    const PeSection* s = image.find_section(name);
    if (s == nullptr) return std::optional<std::string>();
    auto data = read_section(file, *s, k_max_small_section);
    if (!data) return fail(data.error());
    return std::optional<std::string>(std::move(*data));
  };
  auto cmdline = section(".cmdline");
  if (!cmdline) return fail(cmdline.error());
  if (*cmdline) {
    info.cmdline = std::move(**cmdline);
    while (!info.cmdline.empty() && std::isspace(static_cast<unsigned char>(info.cmdline.back()))) info.cmdline.pop_back();
  }
  auto osrel = section(".osrel");
  if (!osrel) return fail(osrel.error());
  if (*osrel) {
    info.os_version = os_release_value(**osrel, "VERSION");
    if (!info.os_version) info.os_version = os_release_value(**osrel, "VERSION_ID");
  }
  auto pcrpkey = section(".pcrpkey");
  if (!pcrpkey) return fail(pcrpkey.error());
  info.pcrpkey = std::move(*pcrpkey);
  info.has_pcrsig = image.find_section(".pcrsig") != nullptr;
  return info;
}

} // namespace sbpipe

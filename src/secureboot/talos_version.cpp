#include "secureboot/talos_version.h"

#include <regex>

namespace sbpipe {

std::string_view bare_version(std::string_view version) {
  if (!version.empty() && (version[0] == 'v' || version[0] == 'V')) version.remove_prefix(1);
  return version;
}

bool is_talos_version(std::string_view text) {
  static const std::regex k_version(R"(v?\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]*)?)");
  return std::regex_match(text.begin(), text.end(), k_version);
}

Verdict talos_version_verdict(const std::vector<Verdict>& verdicts, const std::string& version) {
  Verdict line;
  line.role = "version";
  line.path = "VERSION_ID";
  std::string wrong;
  size_t ukis = 0;
  for (const auto& v : verdicts) {
    if (v.role != "uki") continue;
    ++ukis;
    if (!v.os_version)
      wrong += (wrong.empty() ? "" : "; ") + v.path + " names no VERSION_ID in .osrel";
    else if (bare_version(*v.os_version) != bare_version(version))
      wrong += (wrong.empty() ? "" : "; ") + v.path + " is " + *v.os_version;
  }
  if (ukis == 0) {
    line.reason = "no UKI to read the Talos version from; expected " + version;
  } else if (!wrong.empty()) {
    line.reason = wrong + "; expected " + version +
                  " (imager.image, base_installer_image and the tag must name one Talos version: siderolabs/talos#9482)";
  } else {
    line.ok = true;
    line.signature_ok = true;
    line.reason = "every UKI (" + std::to_string(ukis) + ") names " + version;
  }
  return line;
}

}  // namespace sbpipe

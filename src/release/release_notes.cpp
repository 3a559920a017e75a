#include "release/release_notes.h"

#include "release/image_verification.h"

namespace sbpipe {
namespace {

std::string code_list(const std::vector<std::string>& items) {
  if (items.empty()) return "none";
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "`" : ", `") + item + "`";
  return out;
}

// REGISTRY/REPO of REGISTRY/REPO[:TAG][@DIGEST].
std::string installer_repository(const std::string& ref) {
  std::string out = ref.substr(0, ref.find('@'));
  auto slash = out.rfind('/');
  auto colon = out.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) out.resize(colon);
  return out;
}

}  // namespace

std::string notes_section(const ReleaseFacts& facts) {
  std::string out(k_notes_begin);
  out += "\n### SecureBoot build\n\n";
  out += "- Version: `" + facts.version + "`\n";
  if (!facts.installer_ref.empty()) {
    out += "- Installer: `" + facts.installer_ref + "`\n";
    out += "- Upgrade: `talosctl upgrade --image " + facts.installer_ref + "`\n";
  }
  if (!facts.source_commit.empty())
    out += "- Source: " + (facts.source_url.empty() ? "" : facts.source_url + " ") + "commit `" + facts.source_commit + "`\n";
  out += "- System extensions: " + code_list(facts.extensions) + "\n";
  out += "- Extra kernel arguments: " + code_list(facts.kernel_args) + "\n";
  for (const auto& notice : facts.notices) out += "- **Before upgrading:** " + notice + "\n";
  if (!facts.installer_ref.empty())
    out +=
        image_verification_notes(installer_repository(facts.installer_ref), facts.signing_public_key, facts.signing_fingerprint);
  if (!facts.checksums.empty()) {
    out += "\n| asset | sha256 |\n|---|---|\n";
    for (const auto& [name, hex] : facts.checksums) out += "| `" + name + "` | `" + hex + "` |\n";
  }
  out += k_notes_end;
  out += "\n";
  return out;
}

std::string installer_in_notes(std::string_view body) {
  auto begin = body.find(k_notes_begin);
  if (begin == std::string_view::npos) return "";
  auto end = body.find(k_notes_end, begin);
  std::string_view section = body.substr(begin, end == std::string_view::npos ? std::string_view::npos : end - begin);
  constexpr std::string_view k_line = "\n- Installer: `";
  auto at = section.find(k_line);
  if (at == std::string_view::npos) return "";
  auto ref = section.substr(at + k_line.size());
  auto close = ref.find('`');
  if (close == std::string_view::npos || ref.substr(0, close).find('\n') != std::string_view::npos) return "";
  return std::string(ref.substr(0, close));
}

std::string merge_notes(std::string_view body, std::string_view section) {
  auto begin = body.find(k_notes_begin);
  if (begin == std::string_view::npos) {
    std::string out(body);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' ')) out.pop_back();
    if (!out.empty()) out += "\n\n";
    out += section;
    return out;
  }
  auto end = body.find(k_notes_end, begin);
  size_t after = end == std::string_view::npos ? body.size() : end + k_notes_end.size();
  if (after < body.size() && body[after] == '\n') ++after;
  std::string out(body.substr(0, begin));
  out += section;
  out += body.substr(after);
  return out;
}

}  // namespace sbpipe

#include "pipeline/release_notes.h"

namespace sbpipe {
namespace {

std::string code_list(const std::vector<std::string>& items) {
  if (items.empty()) return "none";
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "`" : ", `") + item + "`";
  return out;
}

} // namespace

std::string notes_section(const ReleaseFacts& facts) {
  std::string out(kNotesBegin);
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
  if (!facts.checksums.empty()) {
    out += "\n| asset | sha256 |\n|---|---|\n";
    for (const auto& [name, hex] : facts.checksums) out += "| `" + name + "` | `" + hex + "` |\n";
  }
  out += kNotesEnd;
  out += "\n";
  return out;
}

std::string merge_notes(std::string_view body, std::string_view section) {
  auto begin = body.find(kNotesBegin);
  if (begin == std::string_view::npos) {
    std::string out(body);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' ')) out.pop_back();
    if (!out.empty()) out += "\n\n";
    out += section;
    return out;
  }
  auto end = body.find(kNotesEnd, begin);
  size_t after = end == std::string_view::npos ? body.size() : end + kNotesEnd.size();
  if (after < body.size() && body[after] == '\n') ++after;
  std::string out(body.substr(0, begin));
  out += section;
  out += body.substr(after);
  return out;
}

} // namespace sbpipe

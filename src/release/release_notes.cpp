#include "release/release_notes.h"

#include "release/image_verification.h"
#include "release/upgrade_ref.h"

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

std::vector<std::string> upgrade_notices(const ReleaseFacts& facts) {
  std::vector<std::string> out;
  // talosctl's --image default is not this installer: up to 1.13
  // ghcr.io/siderolabs/installer, from 1.14 Image Factory's metal-installer
  // with the default schematic (v1.14.0-rc.1 cmd/talosctl/cmd/talos/upgrade.go,
  // pkg/images/images.go), neither signed with the owner's keys. Talos skips
  // kexec under SecureBoot, so the refusal comes at the next firmware boot.
  if (!facts.installer_ref.empty())
    out.push_back(
        "give `talosctl upgrade` this release's installer with `--image` as above (digest only: Talos 1.13 and "
        "later look the installer up by that exact name). Without `--image`, talosctl installs its default "
        "installer (from talosctl 1.14 Image Factory's `metal-installer`, not a SecureBoot one), which these "
        "keys did not sign: the node refuses it at its next firmware boot. The same goes for "
        "`machine.install.image` left at its default.");
  // Talos seals disk encryption keys to PCR 7 by default (the SecureBoot
  // state: PK, KEK, db, dbx and the signer), so changing any of them outside
  // a release breaks unlocking: siderolabs/talos issue #10205.
  out.push_back(
      "a firmware update, or a change to the enrolled db or dbx, changes PCR 7, which Talos seals disk "
      "encryption keys to by default: do not combine one with this upgrade, and keep a recovery key slot (or "
      "a KMS key), or the node cannot unlock STATE and EPHEMERAL (siderolabs/talos#10205).");
  return out;
}

std::string notes_section(const ReleaseFacts& facts) {
  std::string out(k_notes_begin);
  out += "\n### SecureBoot build\n\n";
  out += "- Version: `" + facts.version + "`\n";
  if (!facts.installer_ref.empty()) {
    out += "- Installer: `" + facts.installer_ref + "`\n";
    out += "- Upgrade: `talosctl upgrade --image " + upgrade_image_ref(facts.installer_ref) + "`\n";
  }
  if (!facts.source_commit.empty())
    out += "- Source: " + (facts.source_url.empty() ? "" : facts.source_url + " ") + "commit `" + facts.source_commit + "`\n";
  out += "- System extensions: " + code_list(facts.extensions) + "\n";
  out += "- Extra kernel arguments: " + code_list(facts.kernel_args) + "\n";
  for (const auto& notice : facts.notices) out += "- **Before upgrading:** " + notice + "\n";
  for (const auto& notice : upgrade_notices(facts)) out += "- **Before upgrading:** " + notice + "\n";
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

#pragma once
// The section sbpipe writes into a release's notes when it finalizes it:
// what was built (version, installer reference with digest, extensions,
// kernel arguments) and the checksums of the assets. It sits between two
// HTML-comment markers, so the rest of the notes (written by people or by
// the build repository's CI) is kept, and running finalize again replaces
// the section with an identical one.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sbpipe {

inline constexpr std::string_view k_notes_begin =
    "<!-- sbpipe:begin (written by sbpipe finalize; edits between these markers are replaced) -->";
inline constexpr std::string_view k_notes_end = "<!-- sbpipe:end -->";

struct ReleaseFacts {
  std::string version;
  std::string installer_ref;  // REGISTRY/REPO[:TAG]@sha256:...; empty when not given
  std::vector<std::string> extensions;
  std::vector<std::string> kernel_args;
  std::vector<std::pair<std::string, std::string>> checksums;  // name, sha256 hex
  std::string source_commit;                                   // the build repository's commit (run --source); empty when unknown
  std::string source_url;
  // Things a node owner must know before upgrading (an allowed key rotation).
  std::vector<std::string> notices;
  // The installer's signing key (PEM public key) and its SHA-256
  // fingerprint: the notes then carry a ready ImageVerificationConfig
  // (image_verification.h). Empty when the installer is not signed.
  std::string signing_public_key;
  std::string signing_fingerprint;
};

// What a node owner must know before upgrading to any SecureBoot release,
// besides the facts' own notices: which `--image` to pass (when the installer
// is known) and that firmware and db/dbx updates change PCR 7. One sentence
// each; the section prints them as "Before upgrading" lines.
std::vector<std::string> upgrade_notices(const ReleaseFacts& facts);

// The section, markers included, ending with a newline. Its "Upgrade:" line
// names the installer by digest only (upgrade_ref.h); its "Installer:" line
// keeps the reference as given.
std::string notes_section(const ReleaseFacts& facts);

// The installer reference the sbpipe section of `body` names ("- Installer:
// `REF`"), or "" when there is no section or no such line. finalize run
// again without --installer-ref keeps it.
std::string installer_in_notes(std::string_view body);

// `body` with its sbpipe section replaced by `section`, or with `section`
// appended (after a blank line) when it has none. A begin marker without an
// end marker is treated as running to the end of the body.
std::string merge_notes(std::string_view body, std::string_view section);

}  // namespace sbpipe

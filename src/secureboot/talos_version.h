#pragma once
// Does a build carry the Talos version it is released as? An imager of one
// version building with another version's base installer, or a UKI whose
// .osrel names another release, has left nodes with an installer layout its
// binary did not expect (siderolabs/talos issues #9482 and #10266). imager
// writes the version it builds into the UKI's .osrel as VERSION_ID
// (constants.OSReleaseTemplate; no VERSION line).

#include <string>
#include <string_view>
#include <vector>

#include "secureboot/verify.h"

namespace sbpipe {

// "1.14.0" for "v1.14.0" or "1.14.0": versions compare without the "v".
std::string_view bare_version(std::string_view version);

// True for a Talos version: [v]X.Y.Z, optionally with a pre-release or build
// part ("v1.14.0-rc.1"). A release tag that is none ("build-42") names no
// version to check against.
bool is_talos_version(std::string_view text);

// One report line (role "version"): ok when every UKI among `verdicts`
// names `version` in its .osrel; FAIL naming each UKI that names another
// version or none, and when there is no UKI to read it from.
Verdict talos_version_verdict(const std::vector<Verdict>& verdicts, const std::string& version);

}  // namespace sbpipe

#pragma once
// Do the images a plan runs name the Talos version it builds? imager writes
// its own version into the UKI, and the base installer brings the installer
// binary that lays the UKI out on a node's disk: an imager or base installer
// of another version has left nodes with a layout their installer did not
// expect (siderolabs/talos issues #9482, #10266). `plan` compares the tags
// before imager gets the keys; verify --talos-version compares the UKI's
// .osrel VERSION_ID afterwards (secureboot/talos_version.h).

#include <string>
#include <string_view>

#include "core/error.h"

namespace sbpipe {

// config error when `image` (a reference of the config, {version} already
// replaced) is tagged with a Talos version (vX.Y.Z[-pre]) other than
// `talos_version` ("v" optional on either side). An image tagged with no
// Talos version ("latest", a branch name) or named by digest alone cannot
// be compared here and passes; verify's VERSION_ID check still applies.
// `what` names the config key ("imager.image").
Status check_image_version(std::string_view image, std::string_view what, const std::string& talos_version);

}  // namespace sbpipe

#pragma once
// The key-enrolment mode a SecureBoot ISO gives systemd-boot: the
// `secure-boot-enroll` word of its loader/loader.conf, which imager writes
// from the secureboot-iso profile (if-safe) or, from Talos 1.14, from
// --secureboot-enroll-keys (siderolabs/talos v1.14.0-rc.1
// pkg/imager/iso/loader.conf.tmpl, cmd/installer/cmd/imager/root.go). With
// `force` systemd-boot enrols loader/keys/auto/{PK,KEK,db}.auth unattended
// when the firmware is in setup mode; `if-safe` only in a virtual machine;
// `manual` offers it in the menu; `off` never (loader.conf(5)).
//
// verify reports it beside the verdicts; it is information, not a gate.

#include <filesystem>
#include <optional>
#include <string>

#include "core/error.h"
#include "secureboot/verify.h"

namespace sbpipe {

struct EnrolmentMode {
  std::string mode;        // the word after secure-boot-enroll; "" when loader.conf has none
  bool has_keys = false;   // loader/keys/auto holds PK.auth, KEK.auth and db.auth
  std::string keys_found;  // the .auth files under loader/keys/auto, comma separated
};

// What the ISO 9660 tree of `iso` says. nullopt when `iso` is not an ISO
// image or has no loader/loader.conf (a GRUB-only plain ISO); invalid_input
// when the image cannot be read.
Result<std::optional<EnrolmentMode>> read_enrolment_mode(const std::filesystem::path& iso);

// One line for people: the mode and what systemd-boot does with it.
std::string describe_enrolment(const EnrolmentMode& mode);

// One report line (role "enrolment", ok) for each ISO among `paths` and the
// files directly inside the directories among them, in the order given; ISOs
// without a loader.conf get none. invalid_input when an ISO cannot be read.
Result<std::vector<Verdict>> enrolment_verdicts(const std::vector<std::string>& paths);

}  // namespace sbpipe

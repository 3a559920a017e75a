#pragma once
// `sbpipe keys check`: is a signing-key set (what a workflow mounts at
// /secureboot) one that imager accepts and that enrolled nodes will trust?
// This and imager are the only readers of the private keys; no key
// material ever appears in a result.

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace sbpipe {

enum class CheckLevel { ok, warn, fail };
std::string_view level_name(CheckLevel level);

struct KeyCheck {
  std::string item;   // "uki-signing-key.pem", "db.auth", ...
  std::string check;  // "format", "matches certificate", ...
  CheckLevel level = CheckLevel::ok;
  std::string detail;  // never key material
};

struct KeysCheckOptions {
  int warn_days = 60;
  std::chrono::system_clock::time_point now;
  // When set, pcr-signing-key.pub.pem (the PCR key's public half) is written
  // there, as one more row.
  std::filesystem::path write_public;
};

// Runs every check on the set in `dir`. Never fails as a whole: a missing or
// broken file is a row with level fail.
std::vector<KeyCheck> check_key_set(const std::filesystem::path& dir, const KeysCheckOptions& options);

}  // namespace sbpipe

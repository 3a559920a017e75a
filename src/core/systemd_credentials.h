#pragma once
// What a systemd unit gives its service, read from the unit file, so that
// `sbpipe config check --run` can check from a shell what the service will
// see: its credentials (LoadCredential=ID:PATH, systemd.exec(5) section
// "Credentials"; https://systemd.io/CREDENTIALS/), which the service reads
// under /run/credentials/UNIT/ID (also $CREDENTIALS_DIRECTORY/ID), and the
// words of its ExecStart= line.

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace sbpipe {

struct UnitFile {
  std::string unit;                            // "sbpipe.service" (the file's name)
  std::map<std::string, std::string> sources;  // credential ID → the file it is loaded from
  std::set<std::string> encrypted;             // IDs of LoadCredentialEncrypted= (readable only through systemd-creds)
  std::vector<std::string> exec_start;         // ExecStart='s words (continuation lines joined)
};

// Reads and parses a unit file. A LoadCredential= without a path, or with a
// relative one, is looked up as systemd does in /etc/credstore,
// /run/credstore and /usr/lib/credstore. not_found / io errors name the
// file; config error for a LoadCredential= line without an ID.
Result<UnitFile> read_unit_file(const std::filesystem::path& path);
Result<UnitFile> parse_unit_file(std::string_view text, const std::string& unit);

// Where `path`, as the service sees it (/run/credentials/UNIT/ID or
// ${CREDENTIALS_DIRECTORY}/ID), is loaded from outside the unit; nullopt
// when `path` is no credential path of this unit. A credential the unit
// does not load, or loads encrypted, is a config error naming it.
Result<std::optional<std::string>> credential_source(const UnitFile& unit, std::string_view path);

// The value of `--flag VALUE` (or `--flag=VALUE`) in ExecStart; nullopt when absent.
std::optional<std::string> exec_start_flag(const UnitFile& unit, std::string_view flag);

}  // namespace sbpipe

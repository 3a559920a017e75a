#include "secureboot/enrolment_mode.h"

#include <algorithm>
#include <cctype>
#include <span>
#include <vector>

#include "core/file.h"
#include "core/stream.h"
#include "iso/archive_walker.h"

namespace sbpipe {
namespace {

constexpr uint64_t k_iso_magic_at = 0x8001;  // "CD001" of the first volume descriptor

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool is_iso(const std::filesystem::path& path) {
  auto head = file_opener(path, k_iso_magic_at, 5)();
  if (!head) return false;
  auto magic = read_all(**head, 5);
  return magic && *magic == "CD001";
}

// loader.conf(5): one "key value" per line; '#' starts a comment.
std::string enroll_word(const std::string& conf) {
  std::string word;
  size_t at = 0;
  while (at < conf.size()) {
    size_t end = conf.find('\n', at);
    std::string line = conf.substr(at, end == std::string::npos ? std::string::npos : end - at);
    at = end == std::string::npos ? conf.size() : end + 1;
    size_t key_end = line.find_first_of(" \t");
    if (line.empty() || line[0] == '#' || line.substr(0, key_end) != "secure-boot-enroll") continue;
    size_t value = line.find_first_not_of(" \t", key_end);
    if (value == std::string::npos) continue;
    size_t value_end = line.find_first_of(" \t\r", value);
    word = line.substr(value, value_end == std::string::npos ? std::string::npos : value_end - value);
  }
  return word;
}

}  // namespace

Result<std::optional<EnrolmentMode>> read_enrolment_mode(const std::filesystem::path& iso) {
  if (!is_iso(iso)) return std::optional<EnrolmentMode>();
  auto source = file_opener(iso)();
  if (!source) return fail(source.error());
  auto walker = ArchiveWalker::open(std::move(*source), ArchiveFormat::iso9660, iso.string());
  if (!walker) return fail(walker.error());
  std::optional<std::string> conf;
  std::vector<std::string> keys;
  auto walked = (*walker)->for_each([&](const ArchiveMember& member) -> Status {
    const std::string name = lower(member.path);
    if (!member.regular) return {};
    if (name == "loader/loader.conf") {
      std::string text;
      std::string chunk(4096, '\0');
      while (text.size() < 64 * 1024) {
        auto n = (*walker)->read(std::span<char>(chunk.data(), chunk.size()));
        if (!n) return fail(n.error());
        if (*n == 0) break;
        text.append(chunk.data(), *n);
      }
      conf = std::move(text);
    } else if (name.starts_with("loader/keys/auto/") && name.ends_with(".auth")) {
      keys.push_back(member.path.substr(std::string("loader/keys/auto/").size()));
    }
    return {};
  });
  if (!walked) return fail(walked.error());
  if (!conf) return std::optional<EnrolmentMode>();
  std::sort(keys.begin(), keys.end());
  EnrolmentMode mode{enroll_word(*conf), false, ""};
  int complete = 0;
  for (const auto& k : keys) {
    mode.keys_found += (mode.keys_found.empty() ? "" : ", ") + k;
    const std::string l = lower(k);
    complete += l == "pk.auth" || l == "kek.auth" || l == "db.auth";
  }
  mode.has_keys = complete == 3;
  return std::optional<EnrolmentMode>(std::move(mode));
}

std::string describe_enrolment(const EnrolmentMode& mode) {
  std::string keys = mode.has_keys ? "loader/keys/auto holds " + mode.keys_found
                                   : (mode.keys_found.empty() ? std::string("no loader/keys/auto files")
                                                              : "loader/keys/auto holds only " + mode.keys_found);
  if (mode.mode.empty()) return "secure-boot-enroll not set (systemd-boot's default: off); " + keys;
  std::string what;
  if (mode.mode == "force")
    what = "systemd-boot enrols the keys unattended when the firmware is in setup mode";
  else if (mode.mode == "if-safe")
    what = "systemd-boot enrols the keys by itself only in a virtual machine; bare metal needs them enrolled by hand";
  else if (mode.mode == "manual")
    what = "systemd-boot offers to enrol the keys from its menu";
  else if (mode.mode == "off")
    what = "systemd-boot never enrols the keys";
  else
    what = "not a mode systemd-boot knows (off, manual, if-safe, force)";
  return "secure-boot-enroll " + mode.mode + ": " + what + "; " + keys;
}

Result<std::vector<Verdict>> enrolment_verdicts(const std::vector<std::string>& paths) {
  std::vector<std::filesystem::path> files;
  for (const auto& p : paths) {
    std::error_code ec;
    if (!std::filesystem::is_directory(p, ec)) {
      files.emplace_back(p);
      continue;
    }
    std::vector<std::filesystem::path> inside;
    for (const auto& entry : std::filesystem::directory_iterator(p, ec))
      if (entry.is_regular_file(ec)) inside.push_back(entry.path());
    std::sort(inside.begin(), inside.end());
    files.insert(files.end(), inside.begin(), inside.end());
  }
  std::vector<Verdict> out;
  for (const auto& file : files) {
    auto mode = read_enrolment_mode(file);
    if (!mode) return fail(mode.error());
    if (!*mode) continue;
    Verdict line;
    line.path = file.string();
    line.role = "enrolment";
    line.ok = true;
    line.signature_ok = true;
    line.reason = describe_enrolment(**mode);
    out.push_back(std::move(line));
  }
  return out;
}

}  // namespace sbpipe

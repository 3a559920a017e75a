#pragma once
// Where a build came from: the commit a tag of the build repository names,
// read from a checkout with libgit2 (the only file that includes git2.h).
// It becomes the installer's org.opencontainers.image.revision/source
// annotations and a line of the release notes.

#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace sbpipe {

struct Provenance {
  std::string commit;      // 40 hex digits: the tag, peeled to its commit
  std::string source_url;  // origin's URL as https, credentials removed; empty without origin
  // Why the work tree is not the tag (HEAD elsewhere, changed files); empty
  // when it is.
  std::string tree_differs;
};

// The journal's form, {"commit": C, "url": U} (tree_differs is not kept),
// and back; `where` names the journal and step for an entry that is not an
// object of two strings (invalid_input).
nlohmann::json provenance_json(const Provenance& provenance);
Result<Provenance> provenance_from_json(const nlohmann::json& entry, std::string_view where);

// not_found when `tag` does not exist in the repository at `dir`; config
// error when `dir` is no git repository.
Result<Provenance> read_provenance(const std::filesystem::path& dir, const std::string& tag);

// "git@github.com:o/r.git", "ssh://git@host/o/r", "https://user:token@host/o/r.git"
// → "https://github.com/o/r" / "https://host/o/r"; never keeps user info.
std::string public_source_url(std::string_view remote_url);

}  // namespace sbpipe

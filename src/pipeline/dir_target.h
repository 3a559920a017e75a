#pragma once
// Publishing to a directory instead of GitHub (a PXE or NFS root served by
// another machine): ROOT/<tag>/ holds the files, sha256sums.txt and
// release.json. Each file is written under a temporary name and renamed,
// so a reader sees a complete old or new file, never a part; files already
// there with the same content are left alone. release.json says whether the
// release is still a pre-release ("prerelease": true) until finalize.

#include <filesystem>
#include <string>
#include <vector>

#include "pipeline/assets.h"
#include "pipeline/release_notes.h"

namespace sbpipe {

// --target: "github" gives nullopt, "dir:PATH" gives PATH; anything else is
// a usage error.
Result<std::optional<std::filesystem::path>> parse_publish_target(std::string_view target);

struct DirPublishOptions {
  bool allow_published = false;
  std::string repository;  // recorded in release.json when given
};

// Publishes `files`, then their sha256sums.txt, to ROOT/<tag>/ and writes
// its release.json. Refuses a directory whose release.json says it is
// released unless allow_published. Fills in each file's sha256.
Result<std::vector<AssetReport>> publish_to_directory(const std::filesystem::path& root, const std::string& tag,
                                                      std::vector<LocalAsset>& files, const DirPublishOptions& options);

struct DirFinalizeResult {
  std::filesystem::path release_json;
  bool changed = false;
  std::vector<std::pair<std::string, std::string>> checksums;
};

// Checks every file listed in ROOT/<tag>/sha256sums.txt against its digest,
// then marks release.json released with the notes. invalid_input listing
// every missing or wrong file, leaving release.json as it was.
Result<DirFinalizeResult> finalize_directory(const std::filesystem::path& root, const std::string& tag,
                                             const ReleaseFacts& facts);

} // namespace sbpipe

#pragma once
// Publishing to a directory instead of GitHub (a PXE or NFS root served by
// another machine): ROOT/<tag>/ holds the files, sha256sum.txt,
// sha512sum.txt and release.json. Each file is written under a temporary
// name beside it and renamed, so a reader sees a complete old or new file,
// never a part; files already there with the same content are left alone.
// release.json says whether the release is still a pre-release
// ("prerelease": true) until finalize; a directory has no drafts.
//
// The assets of the release are the directory's entries other than
// release.json. A temporary file an interrupted write left (".NAME.sbpipe-N")
// is a leftover that clean_up removes; anything else that is not a regular
// file (a subdirectory, a symbolic link) is an incomplete asset, which
// publish and finalize refuse.

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "release/target.h"

namespace sbpipe {

class DirTarget final : public ReleaseTarget {
public:
  // usage error when `tag` is not usable as one directory name (what
  // check_asset_name allows: no '/', no "..", no leading '.').
  // `repository` (OWNER/NAME) is recorded in release.json when given.
  static Result<std::unique_ptr<DirTarget>> create(std::filesystem::path root, std::string tag, std::string repository);

  std::string what() const override { return m_dir.string(); }
  Result<std::string> check_access() override;
  Result<ReleaseInfo> open(OpenFor purpose) override;
  Result<std::vector<PublishedAsset>> assets() override;
  Status read(const PublishedAsset& asset, const std::function<Status(std::span<const char>)>& sink) override;
  Status clean_up(std::vector<LocalAsset>& files) override;
  Result<AssetOutcome> put(LocalAsset& asset) override;
  Status remove(const std::string& name) override;
  Status record(const ChecksumList& sha256) override;
  Result<ReleaseInfo> mark_released(const std::string& notes, const ReleaseFacts& facts, MakeLatest latest) override;

  const std::filesystem::path& release_json() const { return m_release_json_path; }

private:
  DirTarget(std::filesystem::path dir, std::string tag, std::string repository)
      : m_dir(std::move(dir)), m_release_json_path(m_dir / "release.json"), m_tag(std::move(tag)),
        m_repository(std::move(repository)) {}
  ReleaseInfo info() const;
  Status write_release_json(const nlohmann::json& after);

  std::filesystem::path m_dir;
  std::filesystem::path m_release_json_path;
  std::string m_tag;
  std::string m_repository;
  nlohmann::json m_release_json = nlohmann::json::object();  // as last read or written
};

}  // namespace sbpipe

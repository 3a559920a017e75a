#pragma once
// Where a release is published: one interface, two implementations (a
// GitHub release, github/github_target.h; a directory, release/dir_target.h).
// The rules about what may be published (release/publish.h) and when a
// release may be flipped to released (release/finalize.h) are written once,
// against this interface, so they hold for both.
//
// A target is bound to one release when it is made (GitHub: by id, or by
// tag; a directory: ROOT/<tag>). Not thread-safe: one target per thread.

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "release/assets.h"
#include "release/checksums.h"
#include "release/release_notes.h"

namespace sbpipe {

enum class ReleaseState { draft, prerelease, released };
std::string_view state_name(ReleaseState state);

// "--release-state" values: "prerelease" or "draft"; "" gives nullopt (not
// pinned). usage error naming `flag` for anything else.
Result<std::optional<ReleaseState>> parse_release_state(std::string_view text, std::string_view flag);

struct ReleaseInfo {
  std::string tag;
  ReleaseState state = ReleaseState::prerelease;
  std::string notes;          // the release's body (GitHub) or release.json's notes
  std::string location;       // html_url, or release.json's path
  std::optional<int64_t> id;  // GitHub's release id
};

// What a run was started for: the release must still carry `tag`, and (when
// set) still be in the state the run started from. Only a release that is
// already released is accepted in place of `started_as` by finalize, which
// is what its own earlier run left.
struct ReleasePin {
  std::string tag;
  std::optional<ReleaseState> started_as;
};

struct PublishedAsset {
  std::string name;
  uint64_t size = 0;
  // False for what a broken upload or write left (GitHub's starter/open
  // states, a directory's temporary file); `state` says which.
  bool complete = true;
  std::string state;
  std::optional<std::string> sha256;  // known without reading it (GitHub's digest)
};

enum class MakeLatest { yes, no };
// publish: a release directory that does not exist yet is a new, empty
// pre-release (created by the first put); finalize: it is not_found.
enum class OpenFor { publish, finalize };

class ReleaseTarget {
public:
  virtual ~ReleaseTarget() = default;

  // "release v1.9.0 of owner/repo", "/srv/pxe/v1.9.0": the subject of messages.
  virtual std::string what() const = 0;

  // Whether publishing here can work, changing nothing (run's preflight):
  // GitHub: the token is accepted and may push to the repository; a
  // directory: it, or the nearest directory above it that exists, is
  // writable. Returns what was found, for people ("the token from GH_TOKEN
  // may push to me/x"). auth error naming where the credential came from
  // and the permission it needs; io error for a directory.
  virtual Result<std::string> check_access() = 0;

  // Looks the release up as it is now. not_found when it does not exist
  // (see OpenFor); conflict when the lookup is ambiguous. Later calls refer
  // to the release found here.
  virtual Result<ReleaseInfo> open(OpenFor purpose) = 0;

  // Every asset of the opened release, leftovers included (a listing is
  // made once and then kept up to date by put and remove). After clean_up,
  // the leftovers it kept to finish are not listed.
  virtual Result<std::vector<PublishedAsset>> assets() = 0;

  // Streams a published asset's bytes into `sink`.
  virtual Status read(const PublishedAsset& asset, const std::function<Status(std::span<const char>)>& sink) = 0;

  // Removes what earlier, interrupted runs left behind before `files` are
  // published; may keep a leftover that is exactly one of `files` to finish
  // it instead of sending it again (GitHub's temporary swap name).
  virtual Status clean_up(std::vector<LocalAsset>& files) = 0;

  // Publishes `asset` under its name: kept when the same size and sha256
  // are there, else replaced so that readers see the old or the new content
  // under the name, never neither. Fills in the asset's digests.
  virtual Result<AssetOutcome> put(LocalAsset& asset) = 0;

  // Removes a complete asset; one already gone counts as removed.
  virtual Status remove(const std::string& name) = 0;

  // Records the listing of a finished publish (a directory keeps it in
  // release.json); a no-op for GitHub, whose listing is the release itself.
  virtual Status record(const ChecksumList& sha256) = 0;

  // Turns the release into a full release with `notes` (and `facts`, which
  // a directory writes into release.json). Only called when something
  // changes. Returns the release as it is afterwards.
  virtual Result<ReleaseInfo> mark_released(const std::string& notes, const ReleaseFacts& facts, MakeLatest latest) = 0;
};

// The pin against the release as it is now. invalid_input naming what
// changed and what to do: another tag; unpublished (a draft now, started as
// a pre-release); published meanwhile (a pre-release now, started as a
// draft). A release that is released now passes here: publish refuses it
// on its own terms (--allow-published), finalize accepts what it left.
Status check_pin(const ReleaseInfo& info, const ReleasePin& pin, std::string_view what);

}  // namespace sbpipe

#pragma once
// Publishing files to a release (upload-assets, and run's step of that
// name), with the checksum files describing the whole release rather than
// the last call:
//   - the release must still match the pin (tag; the state the run started
//     from), and not be a full release unless AllowPublished::yes;
//   - leftovers of interrupted runs are cleaned up first (target.clean_up);
//   - sha256sum.txt and sha512sum.txt list every asset of the release: the
//     files given, and every other asset already there (by GitHub's digest,
//     or read and hashed when there is none). They never shrink: a name the
//     current listing has must be given again or still be published with
//     the listed digest, else nothing is changed;
//   - the files go first (each swapped in atomically by the target), then
//     sha512sum.txt, then sha256sum.txt: the sha256 listing, which finalize
//     checks, is replaced last, so it only ever lists a complete set;
//   - the old sha256sums.txt of earlier sbpipe versions is removed once the
//     two files are in place;
//   - with a signing key, every file given gets its sigstore bundle
//     NAME.sigstore.json (release_signatures.h), uploaded after the file and
//     listed like it, and each checksum file gets one, uploaded just before
//     the checksum file itself.

#include <vector>

#include "release/target.h"
#include "sigstore/keys.h"

namespace sbpipe {

enum class AllowPublished { yes, no };

struct PublishRequest {
  ReleasePin pin;
  AllowPublished allow_published = AllowPublished::no;
  const SigningKey* sign_key = nullptr;  // the owner's key; nullptr: no bundles
};

// One report per file given (in order), then sha512sum.txt and
// sha256sum.txt. Fills in each file's digests. Errors: invalid_input when
// the pin or the listing rule refuses (nothing changed); permanent for a
// full release without AllowPublished::yes; the target's own errors.
Result<std::vector<AssetReport>> publish_release(ReleaseTarget& target, std::vector<LocalAsset>& files,
                                                 const PublishRequest& request);

// The checksum files of a release as published now. `sha256` is empty when
// there is none; `legacy` tells it came from sha256sums.txt.
struct PublishedListing {
  ChecksumList sha256;
  ChecksumList sha512;
  bool has_sha256 = false;
  bool has_sha512 = false;
  bool legacy = false;
};

// Reads sha256sum.txt (else sha256sums.txt) and sha512sum.txt among
// `assets`. invalid_input for a file that does not parse or is over 1 MiB.
Result<PublishedListing> read_listing(ReleaseTarget& target, const std::vector<PublishedAsset>& assets);

// The sha256 and sha512 of a published asset, read through the target; a
// content that does not match the target's own sha256 is invalid_input.
Result<Digests> read_digests(ReleaseTarget& target, const PublishedAsset& asset);

}  // namespace sbpipe

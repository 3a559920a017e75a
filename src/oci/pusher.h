#pragma once
// Pushes local images to a registry tag, the way push-installer promises:
// - every input is read and checked before anything is sent;
// - an unchanged image (the tag already names the same manifest) sends
//   nothing but one HEAD;
// - each blob: HEAD, skip if present (after checking the local bytes), else
//   cross-repo mount when asked, else upload, streaming, while its digest,
//   size and diff_id are checked; a mismatch aborts the upload before the
//   registry can commit it;
// - a failed blob is retried from its HEAD, with back-off and jitter (or
//   Retry-After), up to RetryPolicy::max_attempts;
// - manifests are PUT only after every blob is confirmed, tags last: the
//   per-image manifests by digest, then TAG, then the TAG-<arch> tags, so
//   that no arch tag ever names an image whose index failed. When TAG is
//   unchanged, stale arch tags (an earlier run that stopped after TAG) are
//   moved, at one HEAD per arch.
// - with PushOptions::before_tags (signing), every document is PUT by
//   digest first, the hook runs on them, and only then do tags move: a tag
//   never names an image before its signatures exist. An unchanged image
//   gets the hook too (so a signature missing from an earlier run is added).

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "http/retry.h"
#include "oci/image.h"
#include "oci/manifest.h"
#include "oci/reference.h"
#include "oci/registry.h"

namespace sbpipe {

// An independent registry client (own connection, own authorization) for
// one upload worker: Registry is not thread-safe.
struct RegistrySession {
  std::unique_ptr<HttpClient> http;
  std::unique_ptr<Authenticator> auth;
  std::unique_ptr<Registry> registry;
};
using SessionFactory = std::function<Result<RegistrySession>()>;

struct PushOptions {
  Reference target;
  Annotations annotations;              // set on the pushed manifest(s) and index
  std::vector<std::string> mount_from;  // repositories (same registry) that may hold the blobs
  int compression_level = 0;            // 0: the encoding's default
  RetryPolicy retry;
  int jobs = 2;  // layers uploaded at once (each on its own session)
  // Runs once every manifest (and the index) is in the registry by digest,
  // before any tag moves, with the top document first (the index, or the
  // one manifest), then each per-arch manifest. A failure stops the push
  // with no tag moved.
  std::function<Status(Registry&, const std::vector<Descriptor>&)> before_tags;
};

struct PushResult {
  Digest digest;          // of the manifest (one image) or the index (several)
  bool changed = true;    // false when the tag already named it
  int blobs_present = 0;  // blobs the registry already had (or mounted)
};

// Pushes `images` (one per architecture) to options.target.
// invalid_input when a local blob is not what its metadata claims (nothing
// is tagged then); registry errors name the registry, repository and blob.
// `registry` serves the main thread; `sessions` makes one more per extra
// upload worker (may be empty: then layers go one at a time).
Result<PushResult> push_images(Registry& registry, Clock& clock, const std::vector<LocalImage>& images,
                               const PushOptions& options, const SessionFactory& sessions = {});

}  // namespace sbpipe

#include "oci/pusher.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "oci/blob_stream.h"
#include "oci/manifest.h"

namespace sbpipe {
namespace {

int default_level(Encoding e) { return e == Encoding::zstd ? 3 : 1; }

std::string layer_push_media_type(const LocalLayer& layer) {
  if (layer.push_as == layer.stored && !layer.stored_media_type.empty()) return layer.stored_media_type;
  return layer_media_type(layer.push_as);
}

// Reads a blob's local bytes to the end through a VerifyingSource.
Result<Digest> verify_local(const SourceOpener& open, BlobExpectation expect) {
  auto source = open();
  if (!source) return fail(source.error());
  VerifyingSource verifying(std::move(*source), std::move(expect));
  if (auto st = drain(verifying, [](std::span<const char>) -> Status { return {}; }); !st) return fail(st.error());
  return verifying.digest();
}

class Pusher {
public:
  Pusher(Registry& registry, Clock& clock, const PushOptions& options, const SessionFactory& sessions)
      : m_registry(registry), m_clock(clock), m_options(options), m_sessions(sessions) {}

  Result<PushResult> run(const std::vector<LocalImage>& images);
  // Whether TAG names the new image (a failure after that leaves only arch tags behind).
  bool tag_moved() const { return m_tag_moved; }

private:
  // A layer's descriptor when it can be known without reading the layer.
  std::optional<Descriptor> known_descriptor(const LocalLayer& layer) const;
  Result<std::string> manifest_of(const LocalImage& image, const std::vector<Descriptor>& layers) const;
  Result<std::string> top_document(const std::vector<LocalImage>& images, const std::vector<std::string>& manifests,
                                   std::string& media) const;

  Result<Descriptor> ensure_layer(Registry& registry, const LocalLayer& layer);
  Result<Descriptor> try_layer(Registry& registry, const LocalLayer& layer);
  Status ensure_config(const LocalImage& image);
  // TAG-<arch>[-variant] of each image of a multi-arch push (none for one image).
  Result<std::vector<std::string>> arch_tags_of(const std::vector<LocalImage>& images) const;
  // PUTs each arch tag, after TAG names the index. With OnlyStale::yes an arch
  // tag that already names its manifest (HEAD) is left alone.
  enum class OnlyStale { yes, no };
  Status move_arch_tags(const std::vector<LocalImage>& images, const std::vector<std::string>& manifests,
                        const std::vector<std::string>& arch_tags, OnlyStale only_stale);
  Result<bool> present_or_mounted(Registry& registry, const Digest& digest);
  // options.before_tags on the top document, then each per-arch manifest.
  Status run_before_tags(const std::vector<LocalImage>& images, const std::vector<std::string>& manifests,
                         const std::string& top_media, const std::string& top) const;
  // Every layer of every image, on up to options.jobs sessions at once.
  Result<std::vector<std::vector<Descriptor>>> ensure_all_layers(const std::vector<LocalImage>& images);
  template <class F>
  auto with_retries(const std::string& what, F&& step) -> decltype(step());

  Registry& m_registry;
  Clock& m_clock;
  const PushOptions& m_options;
  const SessionFactory& m_sessions;
  std::atomic<int> m_present{0};
  std::atomic<int> m_failures{0};  // retryable failures in a row, over every step
  bool m_tag_moved = false;
};

// The tries are counted over the whole push, not per step: a registry that
// went away fails every step (several at once with --jobs), and its count
// goes on from one step to the next instead of starting again at 1; any
// step that succeeds resets it.
template <class F>
auto Pusher::with_retries(const std::string& what, F&& step) -> decltype(step()) {
  for (;;) {
    auto result = step();
    if (result) {
      m_failures = 0;
      return result;
    }
    if (!result.error().retryable()) return result;
    const int attempt = ++m_failures;
    // (With --jobs, several steps may fail at once past the limit: each says the limit.)
    if (attempt >= m_options.retry.max_attempts)
      return fail(
          result.error().with_context(what + ": gave up after " + std::to_string(m_options.retry.max_attempts) + " tries"));
    thread_local std::mt19937 rng(std::random_device{}());
    auto wait = result.error().retry_after().value_or(backoff_delay(m_options.retry, attempt, rng));
    spdlog::warn("{}: {} ({}, from HEAD)", what, result.error().message(),
                 retry_note(attempt, m_options.retry.max_attempts, wait));
    m_clock.sleep_for(wait);
  }
}

std::optional<Descriptor> Pusher::known_descriptor(const LocalLayer& layer) const {
  if (layer.push_as != layer.stored || !layer.stored_digest) return std::nullopt;
  return Descriptor{layer_push_media_type(layer), *layer.stored_digest, layer.stored_size, std::nullopt};
}

Result<std::string> Pusher::manifest_of(const LocalImage& image, const std::vector<Descriptor>& layers) const {
  if (image.original_manifest) {
    if (m_options.annotations.empty()) return *image.original_manifest;
    return annotate_json(*image.original_manifest, m_options.annotations);
  }
  Descriptor config{image.config_media_type, image.config_digest, image.config.size(), std::nullopt};
  return image_manifest_json(config, layers, m_options.annotations);
}

std::string media_of(const LocalImage& image) {
  return image.original_manifest ? image.original_manifest_media_type : std::string(media_type::oci_manifest);
}

Result<std::string> Pusher::top_document(const std::vector<LocalImage>& images, const std::vector<std::string>& manifests,
                                         std::string& media) const {
  if (images.size() == 1) {
    media = media_of(images[0]);
    return manifests[0];
  }
  std::vector<Descriptor> entries;
  for (size_t i = 0; i < images.size(); ++i)
    entries.push_back(Descriptor{media_of(images[i]), Digest::of(manifests[i]), manifests[i].size(), images[i].platform});
  media = media_type::oci_index;
  return index_json(entries, m_options.annotations);
}

Status Pusher::run_before_tags(const std::vector<LocalImage>& images, const std::vector<std::string>& manifests,
                               const std::string& top_media, const std::string& top) const {
  if (!m_options.before_tags) return {};
  std::vector<Descriptor> documents{Descriptor{top_media, Digest::of(top), top.size(), std::nullopt}};
  if (images.size() > 1)
    for (size_t i = 0; i < images.size(); ++i)
      documents.push_back(Descriptor{media_of(images[i]), Digest::of(manifests[i]), manifests[i].size(), images[i].platform});
  return m_options.before_tags(m_registry, documents);
}

Result<bool> Pusher::present_or_mounted(Registry& registry, const Digest& digest) {
  auto exists = registry.has_blob(digest);
  if (!exists) return exists;
  if (*exists) return true;
  for (const auto& from : m_options.mount_from) {
    auto mounted = registry.mount_blob(digest, from);
    if (!mounted) return mounted;
    if (*mounted) {
      spdlog::info("mounted {} from {}", digest.short_str(), from);
      return true;
    }
  }
  return false;
}

Result<Descriptor> Pusher::try_layer(Registry& registry, const LocalLayer& layer) {
  BlobExpectation expect{layer.stored_digest, layer.stored_size, layer.stored, layer.diff_id, layer.label};
  if (layer.push_as == layer.stored) {
    if (!expect.digest) {
      // The name claims no digest: learn it by reading (and checking) the layer once.
      auto digest = verify_local(layer.open, expect);
      if (!digest) return fail(digest.error());
      expect.digest = *digest;
    }
    Descriptor desc{layer_push_media_type(layer), *expect.digest, layer.stored_size, std::nullopt};
    auto present = present_or_mounted(registry, desc.digest);
    if (!present) return fail(present.error());
    if (*present) {
      // Already there: still make sure the local image is what it claims.
      if (auto st = verify_local(layer.open, expect); !st) return fail(st.error());
      ++m_present;
      return desc;
    }
    auto source = layer.open();
    if (!source) return fail(source.error());
    VerifyingSource verifying(std::move(*source), expect);
    ProgressSource progress(verifying, m_clock, "pushing " + desc.digest.short_str(), desc.size);
    if (auto st = registry.upload_blob(desc.digest, desc.size, progress); !st) return fail(st.error());
    spdlog::info("pushed {} ({})", desc.digest.short_str(), format_bytes(desc.size));
    return desc;
  }
  // Uncompressed layer pushed compressed: the digest is known at the end.
  auto raw = layer.open();
  if (!raw) return fail(raw.error());
  BlobExpectation raw_expect{layer.diff_id, layer.stored_size, Encoding::none, std::nullopt, layer.label};
  auto checked = std::make_unique<VerifyingSource>(std::move(*raw), raw_expect);
  int level = m_options.compression_level > 0 ? m_options.compression_level : default_level(layer.push_as);
  VerifyingSource compressed(make_compressing_source(std::move(checked), layer.push_as, level),
                             BlobExpectation{std::nullopt, std::nullopt, Encoding::none, std::nullopt, layer.label});
  ProgressSource progress(compressed, m_clock, "compressing and pushing " + layer.label, std::nullopt);
  if (auto st = registry.upload_blob_streamed(progress, [&] { return compressed.digest(); }); !st) return fail(st.error());
  spdlog::info("pushed {} ({}, {} from {})", compressed.digest().short_str(), format_bytes(compressed.size()),
               encoding_name(layer.push_as), format_bytes(layer.stored_size));
  return Descriptor{layer_media_type(layer.push_as), compressed.digest(), compressed.size(), std::nullopt};
}

Result<Descriptor> Pusher::ensure_layer(Registry& registry, const LocalLayer& layer) {
  return with_retries(layer.label, [&] { return try_layer(registry, layer); });
}

Result<std::vector<std::vector<Descriptor>>> Pusher::ensure_all_layers(const std::vector<LocalImage>& images) {
  std::vector<std::pair<size_t, size_t>> work;  // (image, layer)
  for (size_t i = 0; i < images.size(); ++i)
    for (size_t j = 0; j < images[i].layers.size(); ++j) work.emplace_back(i, j);
  std::vector<std::vector<std::optional<Result<Descriptor>>>> results(images.size());
  for (size_t i = 0; i < images.size(); ++i) results[i].resize(images[i].layers.size());

  std::atomic<size_t> next{0};
  auto worker = [&](Registry& registry) {
    for (size_t k = next++; k < work.size(); k = next++) {
      auto [i, j] = work[k];
      results[i][j] = ensure_layer(registry, images[i].layers[j]);
    }
  };
  size_t extra = m_sessions ? std::min<size_t>(static_cast<size_t>(std::max(m_options.jobs, 1)) - 1, work.size() - 1) : 0;
  std::vector<RegistrySession> sessions;
  for (size_t n = 0; n < extra; ++n) {
    auto session = m_sessions();
    if (!session) return fail(session.error());
    if (auto st = session->registry->ping(); !st) return fail(st.error());
    sessions.push_back(std::move(*session));
  }
  std::vector<std::thread> threads;
  for (auto& session : sessions) threads.emplace_back(worker, std::ref(*session.registry));
  worker(m_registry);
  for (auto& t : threads) t.join();

  std::vector<std::vector<Descriptor>> out(images.size());
  for (size_t i = 0; i < images.size(); ++i)
    for (auto& r : results[i]) {
      if (!*r) return fail(r->error());
      out[i].push_back(**r);
    }
  return out;
}

Status Pusher::ensure_config(const LocalImage& image) {
  return with_retries(image.label + ": config", [&]() -> Status {
    auto present = present_or_mounted(m_registry, image.config_digest);
    if (!present) return fail(present.error());
    if (*present) {
      ++m_present;
      return {};
    }
    MemorySource body(image.config);
    return m_registry.upload_blob(image.config_digest, image.config.size(), body);
  });
}

Result<std::vector<std::string>> Pusher::arch_tags_of(const std::vector<LocalImage>& images) const {
  std::vector<std::string> tags;
  if (images.size() < 2) return tags;
  for (const auto& image : images) {
    const auto& p = image.platform;
    tags.push_back(m_options.target.tag + "-" + p.architecture + (p.variant.empty() ? "" : "-" + p.variant));
    if (tags.back().size() > 128) return fail(ErrorKind::usage, "tag " + tags.back() + " is longer than 128 characters");
  }
  return tags;
}

Status Pusher::move_arch_tags(const std::vector<LocalImage>& images, const std::vector<std::string>& manifests,
                              const std::vector<std::string>& arch_tags, OnlyStale only_stale) {
  for (size_t i = 0; i < arch_tags.size(); ++i) {
    if (only_stale == OnlyStale::yes) {
      auto current = m_registry.head_manifest(arch_tags[i]);
      if (!current) return fail(current.error());
      if (*current && (*current)->digest == Digest::of(manifests[i])) continue;
    }
    if (auto st = m_registry.put_manifest(arch_tags[i], media_of(images[i]), manifests[i]); !st)
      return fail(st.error().with_context(m_options.target.str() + " names the new index, but its arch tag " + arch_tags[i] +
                                          " did not move (run again to move it)"));
    spdlog::info("tagged {} as {}", arch_tags[i], Digest::of(manifests[i]).str());
  }
  return {};
}

Result<PushResult> Pusher::run(const std::vector<LocalImage>& images) {
  if (images.empty()) return fail(ErrorKind::invalid_input, "no image to push");
  if (images.size() > 1) {
    std::set<std::string> seen;
    for (const auto& image : images)
      if (!seen.insert(image.platform.str()).second)
        return fail(ErrorKind::invalid_input, image.label + ": a second image for platform " + image.platform.str());
  }
  const std::string& tag = m_options.target.tag;
  auto arch_tags = arch_tags_of(images);
  if (!arch_tags) return fail(arch_tags.error());
  if (auto st = m_registry.ping(); !st) return fail(st.error());

  // Unchanged? When every descriptor is known from names, one HEAD tells.
  std::vector<std::string> manifests;
  bool all_known = true;
  for (const auto& image : images) {
    std::vector<Descriptor> layers;
    for (const auto& layer : image.layers) {
      auto desc = known_descriptor(layer);
      if (!desc)
        all_known = false;
      else
        layers.push_back(*desc);
    }
    if (!all_known) break;
    auto manifest = manifest_of(image, layers);
    if (!manifest) return fail(manifest.error());
    manifests.push_back(*manifest);
  }
  if (all_known) {
    std::string media;
    auto top = top_document(images, manifests, media);
    if (!top) return fail(top.error());
    Digest want = Digest::of(*top);
    auto current = m_registry.head_manifest(tag);
    if (!current) return fail(current.error());
    if (*current && (*current)->digest == want) {
      if (auto st = run_before_tags(images, manifests, media, *top); !st) return fail(st.error());
      // An earlier run may have failed between TAG and its arch tags.
      if (auto st = move_arch_tags(images, manifests, *arch_tags, OnlyStale::yes); !st) return fail(st.error());
      spdlog::info("{} already names {}: nothing to push", m_options.target.str(), want.str());
      return PushResult{want, false, 0};
    }
  }

  // Blobs first, every one confirmed before any manifest.
  manifests.clear();
  auto all_layers = ensure_all_layers(images);
  if (!all_layers) return fail(all_layers.error());
  for (size_t i = 0; i < images.size(); ++i) {
    const auto& image = images[i];
    if (auto st = ensure_config(image); !st) return fail(st.error());
    auto manifest = manifest_of(image, (*all_layers)[i]);
    if (!manifest) return fail(manifest.error());
    manifests.push_back(*manifest);
  }

  std::string media;
  auto top = top_document(images, manifests, media);
  if (!top) return fail(top.error());
  // Tags move last and in this order: the per-arch manifests by digest, the
  // index under TAG, and only then TAG-<arch>. A failure before TAG moves no
  // tag at all; a failure after it leaves arch tags on the previous images of
  // a TAG that is already complete, never on images whose index failed (F11),
  // and a re-run moves them.
  if (images.size() > 1 || m_options.before_tags) {
    for (size_t i = 0; i < images.size(); ++i)
      if (auto st = m_registry.put_manifest(Digest::of(manifests[i]).str(), media_of(images[i]), manifests[i]); !st)
        return fail(st.error());
  }
  if (m_options.before_tags) {
    if (images.size() > 1)
      if (auto st = m_registry.put_manifest(Digest::of(*top).str(), media, *top); !st) return fail(st.error());
    if (auto st = run_before_tags(images, manifests, media, *top); !st) return fail(st.error());
  }
  if (auto st = m_registry.put_manifest(tag, media, *top); !st) return fail(st.error());
  m_tag_moved = true;
  if (auto st = move_arch_tags(images, manifests, *arch_tags, OnlyStale::no); !st) return fail(st.error());
  Digest digest = Digest::of(*top);
  spdlog::info("tagged {} as {}", m_options.target.str(), digest.str());
  return PushResult{digest, true, m_present.load()};
}

}  // namespace

Result<PushResult> push_images(Registry& registry, Clock& clock, const std::vector<LocalImage>& images,
                               const PushOptions& options, const SessionFactory& sessions) {
  Pusher pusher(registry, clock, options, sessions);
  auto pushed = pusher.run(images);
  // What the owner needs after a registry that went away mid-push: whether
  // the tag moved, and that a re-run resumes.
  if (!pushed && !pusher.tag_moved())
    return fail(Error(pushed.error().kind(), pushed.error().message() + "; " + options.target.str() +
                                                 " was not moved (it names what it named before), and a re-run pushes only "
                                                 "what the registry is missing"));
  return pushed;
}

}  // namespace sbpipe

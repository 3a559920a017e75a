#pragma once
// Image references of the form REGISTRY/REPOSITORY:TAG.

#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"

namespace sbpipe {

struct Reference {
  std::string registry;    // host[:port] as written, e.g. "ghcr.io", "127.0.0.1:5000"
  std::string repository;  // e.g. "owner/installer"
  std::string tag;

  // "registry/repository:tag"
  std::string str() const { return registry + "/" + repository + ":" + tag; }
  // "registry/repository"
  std::string name() const { return registry + "/" + repository; }
  // The host the API is served from (docker.io's lives elsewhere).
  std::string api_host() const;

  // Parses REGISTRY/REPO:TAG. The registry part is required (it must contain
  // a '.' or ':' or be "localhost"), and so is the tag. usage error otherwise.
  static Result<Reference> parse(std::string_view text);
};

// An image as configuration names it: REGISTRY/REPO[:TAG][@sha256:HEX],
// with a tag, a digest or both.
struct ImageRef {
  std::string registry;
  std::string repository;
  std::string tag;     // may be empty when digest is set
  std::string digest;  // "sha256:<hex>" or empty
  std::string str() const;
  std::string api_host() const { return Reference{registry, repository, tag}.api_host(); }

  // usage error naming `what` when malformed or when neither tag nor digest is given.
  static Result<ImageRef> parse(std::string_view text, std::string_view what);
};

// True when `repository` is a valid OCI repository name.
bool is_valid_repository(std::string_view repository);
// True when `tag` is a valid OCI tag.
bool is_valid_tag(std::string_view tag);

// What is wrong with a reference written as a URL ("http://127.0.0.1:5000/a:t"),
// as crane and docker refuse it too; nullopt when it starts with no scheme.
std::optional<std::string> scheme_problem(std::string_view text);

}  // namespace sbpipe

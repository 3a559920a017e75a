#include "oci/reference.h"

#include <regex>

namespace sbpipe {

bool is_valid_repository(std::string_view repository) {
  static const std::regex k_repo(R"([a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*)");
  return repository.size() <= 255 && std::regex_match(repository.begin(), repository.end(), k_repo);
}

bool is_valid_tag(std::string_view tag) {
  static const std::regex k_tag(R"([A-Za-z0-9_][A-Za-z0-9._-]{0,127})");
  return std::regex_match(tag.begin(), tag.end(), k_tag);
}

std::optional<std::string> scheme_problem(std::string_view text) {
  for (std::string_view scheme : {"http://", "https://"})
    if (text.starts_with(scheme))
      return "an image reference has no scheme: write " + std::string(text.substr(scheme.size())) +
             (scheme == "http://" ? " (and --plain-http to speak HTTP)" : "");
  return std::nullopt;
}

std::string Reference::api_host() const {
  return registry == "docker.io" || registry == "index.docker.io" ? "registry-1.docker.io" : registry;
}

Result<Reference> Reference::parse(std::string_view text) {
  auto bad = [&](const std::string& why) { return fail(ErrorKind::usage, "--ref '" + std::string(text) + "': " + why); };
  if (auto why = scheme_problem(text)) return bad(*why);
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return bad("expected REGISTRY/REPO:TAG");
  Reference ref;
  ref.registry = std::string(text.substr(0, slash));
  if (ref.registry.find_first_of(".:") == std::string::npos && ref.registry != "localhost")
    return bad("the first part must name a registry host (e.g. ghcr.io/OWNER/REPO:TAG)");
  auto rest = text.substr(slash + 1);
  if (rest.find('@') != std::string_view::npos) return bad("a push target takes a tag, not a digest");
  auto colon = rest.rfind(':');
  if (colon == std::string_view::npos || rest.find('/', colon) != std::string_view::npos) return bad("missing :TAG");
  ref.repository = std::string(rest.substr(0, colon));
  ref.tag = std::string(rest.substr(colon + 1));
  if (!is_valid_repository(ref.repository)) return bad("invalid repository name '" + ref.repository + "'");
  if (!is_valid_tag(ref.tag)) return bad("invalid tag '" + ref.tag + "'");
  return ref;
}

std::string ImageRef::str() const {
  std::string out = registry + "/" + repository;
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest;
  return out;
}

Result<ImageRef> ImageRef::parse(std::string_view text, std::string_view what) {
  auto bad = [&](const std::string& why) {
    return fail(ErrorKind::usage, std::string(what) + " '" + std::string(text) + "': " + why);
  };
  if (auto why = scheme_problem(text)) return bad(*why);
  static const std::regex k_digest(R"(sha256:[0-9a-f]{64})");
  ImageRef ref;
  auto at = text.find('@');
  if (at != std::string_view::npos) {
    ref.digest = std::string(text.substr(at + 1));
    if (!std::regex_match(ref.digest, k_digest)) return bad("invalid digest (expected sha256:<64 hex>)");
    text = text.substr(0, at);
  }
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return bad("expected REGISTRY/REPO:TAG");
  ref.registry = std::string(text.substr(0, slash));
  if (ref.registry.find_first_of(".:") == std::string::npos && ref.registry != "localhost")
    return bad("the first part must name a registry host (e.g. ghcr.io/OWNER/REPO:TAG)");
  auto rest = text.substr(slash + 1);
  auto colon = rest.rfind(':');
  if (colon != std::string_view::npos && rest.find('/', colon) == std::string_view::npos) {
    ref.tag = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
    if (!is_valid_tag(ref.tag)) return bad("invalid tag '" + ref.tag + "'");
  }
  ref.repository = std::string(rest);
  if (!is_valid_repository(ref.repository)) return bad("invalid repository name '" + ref.repository + "'");
  if (ref.tag.empty() && ref.digest.empty()) return bad("missing :TAG or @DIGEST");
  return ref;
}

}  // namespace sbpipe

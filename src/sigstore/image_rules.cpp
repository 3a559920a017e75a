#include "sigstore/image_rules.h"

namespace sbpipe {

std::string ImageRule::label() const { return "rule " + std::to_string(index) + " (" + image + ")"; }

bool glob_match(std::string_view pattern, std::string_view subject) {
  if (pattern.empty()) return subject.empty();
  if (pattern == "*") return true;
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    size_t star = pattern.find('*', start);
    parts.push_back(pattern.substr(start, star == std::string_view::npos ? std::string_view::npos : star - start));
    if (star == std::string_view::npos) break;
    start = star + 1;
  }
  if (parts.size() == 1) return subject == pattern;
  bool leading = pattern.front() == '*';
  bool trailing = pattern.back() == '*';
  size_t end = parts.size() - 1;
  for (size_t i = 0; i < end; ++i) {
    size_t at = subject.find(parts[i]);
    if (i == 0) {
      if (!leading && at != 0) return false;
    } else if (at == std::string_view::npos) {
      return false;
    }
    subject.remove_prefix(at + parts[i].size());
  }
  return trailing || subject.ends_with(parts[end]);
}

std::string rule_subject(std::string_view registry, std::string_view repository) {
  if (registry == "docker.io" || registry == "index.docker.io" || registry == "registry-1.docker.io") {
    std::string repo(repository);
    if (repo.find('/') == std::string::npos) repo = "library/" + repo;
    return "index.docker.io/" + repo;
  }
  return std::string(registry) + "/" + std::string(repository);
}

const ImageRule* first_matching_rule(const ImageVerificationRules& rules, std::string_view subject) {
  for (const auto& rule : rules.rules)
    if (!rule.image.empty() && glob_match(rule.image, subject)) return &rule;
  return nullptr;
}

}  // namespace sbpipe

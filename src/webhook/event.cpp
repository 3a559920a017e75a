#include "webhook/event.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace sbpipe {
namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

} // namespace

Result<EventFilter> EventFilter::create(EventFilterConfig config) {
  if (config.allowed_repos.empty()) return fail(ErrorKind::config, "no allowed repository (allow_repos / --allow-repo)");
  for (auto& repo : config.allowed_repos) {
    if (repo.find('/') == std::string::npos || repo.front() == '/' || repo.back() == '/')
      return fail(ErrorKind::config, "allowed repository '" + repo + "': expected OWNER/NAME");
    repo = lower(repo);
  }
  try {
    std::regex pattern(config.tag_pattern, std::regex::ECMAScript);
    return EventFilter(std::move(config), std::move(pattern));
  } catch (const std::regex_error& e) {
    return fail(ErrorKind::config, "tag pattern '" + config.tag_pattern + "': " + e.what());
  }
}

Result<EventDecision> EventFilter::decide(std::string_view event, std::string_view body) const {
  EventDecision d;
  auto payload = nlohmann::json::parse(body, nullptr, false);
  if (payload.is_discarded() || !payload.is_object()) return fail(ErrorKind::invalid_input, "the body is not a JSON object");
  d.action = payload.value("action", "");
  if (event != "release") {
    d.reason = "event '" + std::string(event) + "' is not handled (only release)";
    return d;
  }
  const auto& repository = payload["repository"];
  const auto& release = payload["release"];
  if (!repository.is_object() || !repository["full_name"].is_string() || !release.is_object() ||
      !release["tag_name"].is_string() || !release["id"].is_number_integer())
    return fail(ErrorKind::invalid_input, "release event without repository.full_name, release.tag_name or release.id");
  d.release = ReleaseRef{repository["full_name"].get<std::string>(), release["tag_name"].get<std::string>(),
                         release["id"].get<int64_t>()};
  bool draft = release.value("draft", false);
  bool prerelease = release.value("prerelease", false);
  if (std::find(m_config.allowed_repos.begin(), m_config.allowed_repos.end(), lower(d.release.repo)) == m_config.allowed_repos.end()) {
    d.reason = "repository " + d.release.repo + " is not allowed";
    return d;
  }
  if (m_config.trigger == Trigger::draft) {
    if (d.action != "created" || !draft) {
      d.reason = "trigger is draft: only 'created' drafts start a run (action " + d.action + (draft ? ", draft" : ", not a draft") + ")";
      return d;
    }
  } else {
    if (d.action != "created" && d.action != "prereleased" && d.action != "published") {
      d.reason = "action '" + d.action + "' does not start a run";
      return d;
    }
    if (draft) {
      d.reason = "release " + d.release.tag + " is a draft";
      return d;
    }
    if (!prerelease) {
      d.reason = "release " + d.release.tag + " is a full release, not a pre-release";
      return d;
    }
  }
  if (!std::regex_match(d.release.tag, m_pattern)) {
    d.reason = "tag " + d.release.tag + " does not match " + m_config.tag_pattern;
    return d;
  }
  d.accepted = true;
  return d;
}

} // namespace sbpipe

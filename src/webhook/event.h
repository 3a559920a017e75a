#pragma once
// Which GitHub deliveries start a pipeline run, and which withdraw one. A
// non-draft pre-release fires `created`, `prereleased` and `published`: all
// three (and every redelivery) are accepted here and become the same
// Workflow name, so the Kubernetes API keeps exactly one. With `trigger:
// draft` (repositories with immutable releases) a `created` draft is
// accepted instead, and finalize publishes it. `unpublished` (the owner
// turned it back into a draft) and `deleted` of a release in scope withdraw
// whatever run is queued or running for it, in either mode.

#include <cstdint>
#include <regex>
#include <string>
#include <vector>

#include "core/error.h"
#include "kube/workflow.h"

namespace sbpipe {

enum class Trigger { prerelease, draft };

// Whether `text` is a GitHub repository as OWNER/NAME: one '/', both parts
// non-empty, letters, digits, '-', '_' and '.' (the queue's entries and
// `config check` read repositories with it).
bool is_repo_name(std::string_view text);

struct EventFilterConfig {
  std::vector<std::string> allowed_repos;  // OWNER/NAME, compared case-insensitively
  std::string tag_pattern = R"(^v\d+\.\d+\.\d+.*$)";
  Trigger trigger = Trigger::prerelease;
};

struct EventDecision {
  bool accepted = false;  // start a run
  bool withdraw = false;  // stop the runs of this release (unpublished, deleted)
  std::string reason;     // why it was ignored (empty when accepted or withdrawn)
  std::string action;
  ReleaseRef release;  // filled as far as the payload allowed; state "draft"/"prerelease" when accepted
};

class EventFilter {
public:
  // config error for an invalid tag pattern or no allowed repository.
  static Result<EventFilter> create(EventFilterConfig config);

  // `event` is X-GitHub-Event; `body` the raw JSON. invalid_input for a
  // body that is not JSON or a release event without the fields it must have.
  Result<EventDecision> decide(std::string_view event, std::string_view body) const;

  const EventFilterConfig& config() const { return m_config; }

private:
  explicit EventFilter(EventFilterConfig config, std::regex pattern)
      : m_config(std::move(config)), m_pattern(std::move(pattern)) {}
  EventFilterConfig m_config;
  std::regex m_pattern;
};

}  // namespace sbpipe

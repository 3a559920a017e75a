#include "webhook/event.h"

#include <simdjson.h>

#include <algorithm>
#include <cctype>

#include "core/ascii.h"

namespace sbpipe {

Result<EventFilter> EventFilter::create(EventFilterConfig config) {
  if (config.allowed_repos.empty()) return fail(ErrorKind::config, "no allowed repository (allow_repos / --allow-repo)");
  for (auto& repo : config.allowed_repos) {
    if (repo.find('/') == std::string::npos || repo.front() == '/' || repo.back() == '/')
      return fail(ErrorKind::config, "allowed repository '" + repo + "': expected OWNER/NAME");
    repo = ascii_lower(repo);
  }
  try {
    std::regex pattern(config.tag_pattern, std::regex::ECMAScript);
    return EventFilter(std::move(config), std::move(pattern));
  } catch (const std::regex_error& e) {
    return fail(ErrorKind::config, "tag pattern '" + config.tag_pattern + "': " + e.what());
  }
}

namespace {

struct ReleaseFields {
  std::string action;
  bool has_repo = false, has_release = false;
  std::string repo, tag;
  int64_t id = 0;
  bool draft = false, prerelease = false;
};

// Reads only the fields the filter needs, with simdjson's on-demand parser:
// deliveries carry kilobytes of release notes and user objects, and this is
// the receiver's hot path (see scripts/bench/webhook). invalid_input when
// the body is not JSON or a needed field has the wrong type.
Result<ReleaseFields> parse_release_fields(std::string_view body) {
  static thread_local simdjson::ondemand::parser parser;
  simdjson::padded_string padded(body);
  ReleaseFields f;
  auto bad = [] { return fail(ErrorKind::invalid_input, "the body is not a JSON object"); };
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc)) return bad();
  simdjson::ondemand::object root;
  if (doc.get_object().get(root)) return bad();
  for (auto field : root) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return bad();
    if (key == "action") {
      std::string_view action;
      if (field.value().get_string().get(action)) return bad();
      f.action = action;
    } else if (key == "repository") {
      simdjson::ondemand::object repo;
      if (field.value().get_object().get(repo)) return bad();
      std::string_view name;
      auto found = repo.find_field_unordered("full_name").get_string().get(name);
      if (found == simdjson::SUCCESS) {
        f.repo = name;
        f.has_repo = true;
      }
    } else if (key == "release") {
      simdjson::ondemand::object release;
      if (field.value().get_object().get(release)) return bad();
      bool has_id = false, has_tag = false;
      for (auto rf : release) {
        std::string_view k;
        if (rf.unescaped_key().get(k)) return bad();
        if (k == "id")
          has_id = rf.value().get_int64().get(f.id) == simdjson::SUCCESS;
        else if (k == "tag_name") {
          std::string_view tag;
          has_tag = rf.value().get_string().get(tag) == simdjson::SUCCESS;
          if (has_tag) f.tag = tag;
        } else if (k == "draft") {
          if (rf.value().get_bool().get(f.draft)) f.draft = false;
        } else if (k == "prerelease") {
          if (rf.value().get_bool().get(f.prerelease)) f.prerelease = false;
        }
      }
      f.has_release = has_id && has_tag;
    }
  }
  return f;
}

}  // namespace

Result<EventDecision> EventFilter::decide(std::string_view event, std::string_view body) const {
  EventDecision d;
  auto fields = parse_release_fields(body);
  if (!fields) return fail(fields.error());
  d.action = fields->action;
  if (event != "release") {
    d.reason = "event '" + std::string(event) + "' is not handled (only release)";
    return d;
  }
  if (!fields->has_repo || !fields->has_release)
    return fail(ErrorKind::invalid_input, "release event without repository.full_name, release.tag_name or release.id");
  d.release = ReleaseRef{fields->repo, fields->tag, fields->id};
  bool draft = fields->draft;
  bool prerelease = fields->prerelease;
  if (std::find(m_config.allowed_repos.begin(), m_config.allowed_repos.end(), ascii_lower(d.release.repo)) ==
      m_config.allowed_repos.end()) {
    d.reason = "repository " + d.release.repo + " is not allowed";
    return d;
  }
  if (d.action == "unpublished" || d.action == "deleted") {
    if (!std::regex_match(d.release.tag, m_pattern)) {
      d.reason = "tag " + d.release.tag + " does not match " + m_config.tag_pattern;
      return d;
    }
    d.withdraw = true;
    return d;
  }
  if (m_config.trigger == Trigger::draft) {
    if (d.action != "created" || !draft) {
      d.reason =
          "trigger is draft: only 'created' drafts start a run (action " + d.action + (draft ? ", draft" : ", not a draft") + ")";
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
  d.release.state = draft ? "draft" : "prerelease";
  return d;
}

bool is_repo_name(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == text.size()) return false;
  if (text.find('/', slash + 1) != std::string_view::npos) return false;
  for (char c : text)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '-' || c == '_' || c == '.')) return false;
  return true;
}

}  // namespace sbpipe

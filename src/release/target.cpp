#include "release/target.h"

namespace sbpipe {

std::string_view state_name(ReleaseState state) {
  switch (state) {
  case ReleaseState::draft: return "draft";
  case ReleaseState::prerelease: return "pre-release";
  case ReleaseState::released: return "release";
  }
  return "?";
}

Result<std::optional<ReleaseState>> parse_release_state(std::string_view text, std::string_view flag) {
  if (text.empty()) return std::optional<ReleaseState>();
  if (text == "prerelease") return std::optional<ReleaseState>(ReleaseState::prerelease);
  if (text == "draft") return std::optional<ReleaseState>(ReleaseState::draft);
  return fail(ErrorKind::usage, std::string(flag) + " '" + std::string(text) + "': expected prerelease or draft");
}

Status check_pin(const ReleaseInfo& info, const ReleasePin& pin, std::string_view what) {
  std::string subject(what);
  if (info.tag != pin.tag)
    return fail(ErrorKind::invalid_input, subject + " now has tag '" + info.tag + "', not " + pin.tag +
                                              "; this run was started for " + pin.tag + " and changes nothing else");
  if (!pin.started_as || info.state == *pin.started_as || info.state == ReleaseState::released) return {};
  if (info.state == ReleaseState::draft)
    return fail(ErrorKind::invalid_input, subject + " was unpublished (it is a draft now; the run started from a " +
                                              std::string(state_name(*pin.started_as)) +
                                              "); nothing more is published for it; publish it again to start a new run");
  return fail(ErrorKind::invalid_input, subject + " is a " + std::string(state_name(info.state)) +
                                            " now, but the run started from a " + std::string(state_name(*pin.started_as)) +
                                            "; refusing to change it; start a new run for it as it is now");
}

}  // namespace sbpipe

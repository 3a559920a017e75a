// libFuzzer target for the webhook receiver's parsing of a (signed)
// delivery body: the release-event filter over arbitrary bytes.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "webhook/event.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const sbpipe::EventFilter filter = [] {
    sbpipe::EventFilterConfig config;
    config.allowed_repos = {"owner/talos-build"};
    return *sbpipe::EventFilter::create(config);
  }();
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto decision = filter.decide("release", body);
  if (decision && decision->accepted && decision->release.tag.empty()) __builtin_trap();  // accepted needs a tag
  return 0;
}

#include "pipeline/imager_exit.h"

namespace sbpipe {

ImagerExit imager_exit(int status) {
  switch (status) {
  case 1: return {"unknown error", ImagerRetry::no};
  case 2: return {"invalid input", ImagerRetry::no};
  case 3: return {"unsupported", ImagerRetry::no};
  case 4: return {"environment", ImagerRetry::no};
  case 5: return {"dependency", ImagerRetry::yes};
  case 6: return {"I/O error", ImagerRetry::yes};
  case 7: return {"install failed", ImagerRetry::no};
  default: return {"", ImagerRetry::no};
  }
}

std::string imager_exit_text(int status) {
  auto exit = imager_exit(status);
  if (exit.category.empty()) return "imager: exit " + std::to_string(status);
  return "imager: " + std::string(exit.category) + " (exit " + std::to_string(status) + ")";
}

}  // namespace sbpipe

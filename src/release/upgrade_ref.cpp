#include "release/upgrade_ref.h"

namespace sbpipe {

std::string upgrade_image_ref(std::string_view installer_ref) {
  auto at = installer_ref.find('@');
  if (at == std::string_view::npos) return std::string(installer_ref);
  std::string_view name = installer_ref.substr(0, at);
  // The tag is the last ':' after the last '/': a ':' before it is the
  // registry's port.
  auto slash = name.rfind('/');
  auto colon = name.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) name = name.substr(0, colon);
  return std::string(name) + std::string(installer_ref.substr(at));
}

}  // namespace sbpipe

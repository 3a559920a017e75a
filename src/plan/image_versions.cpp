#include "plan/image_versions.h"

#include "oci/reference.h"
#include "secureboot/talos_version.h"

namespace sbpipe {

Status check_image_version(std::string_view image, std::string_view what, const std::string& talos_version) {
  auto ref = ImageRef::parse(image, what);
  if (!ref) return fail(ErrorKind::config, ref.error().message());
  if (ref->tag.empty() || !is_talos_version(ref->tag)) return {};
  if (bare_version(ref->tag) == bare_version(talos_version)) return {};
  return fail(ErrorKind::config, std::string(what) + ": " + ref->str() + " is Talos " + ref->tag + ", but this plan builds " +
                                     talos_version +
                                     "; imager, base installer and release must be one Talos version (siderolabs/talos#9482): "
                                     "use {version} in the image, or set imager.talos_version to the version it builds");
}

}  // namespace sbpipe

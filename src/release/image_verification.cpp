#include "release/image_verification.h"

namespace sbpipe {
namespace {

// The name Talos matches rules against (see the header).
std::string talos_repository_name(const std::string& repository) {
  if (repository.starts_with("docker.io/")) return "index.docker.io/" + repository.substr(10);
  return repository;
}

}  // namespace

std::string image_verification_config(const std::string& repository, const std::string& public_key_pem) {
  std::string out = "apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n";
  out += "  - image: " + talos_repository_name(repository) + "\n";
  out += "    publicKey:\n      certificate: |\n";
  size_t start = 0;
  while (start < public_key_pem.size()) {
    size_t end = public_key_pem.find('\n', start);
    if (end == std::string::npos) end = public_key_pem.size();
    std::string line = public_key_pem.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) out += "        " + line + "\n";
    start = end + 1;
  }
  return out;
}

std::string image_verification_notes(const std::string& repository, const std::string& public_key_pem,
                                     const std::string& fingerprint) {
  if (public_key_pem.empty()) return "";
  std::string out = "\n#### Image verification\n\n";
  out +=
      "The installer's index and every per-arch image are signed (cosign signature and sigstore bundle) with the key `sha256:" +
      fingerprint +
      "`. Talos 1.13 and later enforce it with this machine config document (keep other rules after it; the first rule "
      "that matches wins):\n\n```yaml\n";
  out += image_verification_config(repository, public_key_pem);
  out += "```\n";
  return out;
}

}  // namespace sbpipe

#include "cli/examples.h"

#include <map>
#include <vector>

namespace sbpipe {
namespace {

// Each example: a comment line (what it does), then the command.
using Example = std::pair<const char*, const char*>;

const std::map<std::string_view, std::vector<Example>>& all_examples() {
  static const std::map<std::string_view, std::vector<Example>> examples{
      {"",
       {{"the whole pipeline for one version on this machine", "sbpipe run --config sbpipe.yaml --tag v1.12.4"},
        {"what it would do, and every check, without building", "sbpipe run --config sbpipe.yaml --tag v1.12.4 --dry-run"},
        {"start with a commented config", "sbpipe config init && sbpipe config check --run"}}},
      {"push-installer",
       {{"push imager's installer to a registry; prints REGISTRY/REPO@sha256:...",
         "sbpipe push-installer _out/installer-amd64-secureboot.tar --ref ghcr.io/alice/installer:v1.12.4"},
        {"one index for two architectures",
         "sbpipe push-installer _out/installer-amd64-secureboot.tar _out/installer-arm64-secureboot.tar --ref "
         "ghcr.io/alice/installer:v1.12.4"}}},
      {"verify",
       {{"the SecureBoot gate on imager's outputs", "sbpipe verify _out/ --cert secureboot/uki-signing-cert.pem"},
        {"with the PCR public key nodes are sealed to",
         "sbpipe verify _out/metal-amd64-secureboot.iso --cert secureboot/uki-signing-cert.pem --pcr-pubkey "
         "secureboot/pcr-signing-key.pub.pem"}}},
      {"verify-release",
       {{"a downloaded release against the owner's public key (sigstore bundles and checksums)",
         "sbpipe verify-release ./v1.12.4 --key image-signing-key.pub.pem"}}},
      {"keys", {{"check the key set talosctl gen secureboot wrote", "sbpipe keys check secureboot/"}}},
      {"keys check",
       {{"check the key set talosctl gen secureboot wrote", "sbpipe keys check secureboot/"},
        {"and write the PCR key's public half beside it", "sbpipe keys check secureboot/ --write-public secureboot/"}}},
      {"plan",
       {{"imager's command lines for one version, to paste", "sbpipe plan --tag v1.12.4 --config sbpipe.yaml -o shell"},
        {"as JSON, with every image pinned to its digest", "sbpipe plan --tag v1.12.4 --pin-digests"}}},
      {"pxe-extract", {{"the kernel and initramfs of a plain ISO", "sbpipe pxe-extract _out/metal-amd64.iso --out pxe/"}}},
      {"upload-assets",
       {{"upload files to a pre-release (GH_TOKEN from the environment)",
         "sbpipe upload-assets -R alice/talos-build --tag v1.12.4 _out/metal-amd64-secureboot.iso"}}},
      {"finalize",
       {{"turn the pre-release into a release once everything is in place",
         "sbpipe finalize -R alice/talos-build --tag v1.12.4 --installer-ref ghcr.io/alice/installer:v1.12.4@sha256:..."}}},
      {"serve",
       {{"the webhook receiver, runs on this machine", "sbpipe serve --executor local --config /etc/sbpipe/sbpipe.yaml"},
        {"the receiver for Argo Workflows",
         "sbpipe serve --config sbpipe.yaml --webhook-secret-file /run/secrets/webhook --allow-repo alice/talos-build"}}},
      {"submit",
       {{"re-run a version through Argo", "sbpipe submit -R alice/talos-build --tag v1.12.4"},
        {"the Workflow it would create, offline", "sbpipe submit -R alice/talos-build --tag v1.12.4 --release-id 42 --dry-run"}}},
      {"run",
       {{"build, check and publish one version", "sbpipe run --config sbpipe.yaml --tag v1.12.4"},
        {"every check first, nothing built", "sbpipe run --config sbpipe.yaml --tag v1.12.4 --dry-run"},
        {"into a directory instead of a GitHub release", "sbpipe run --config sbpipe.yaml --tag v1.12.4 --target dir:/srv/pxe"}}},
      {"runs", {{"the runs of serve --executor local", "sbpipe runs list --config /etc/sbpipe/sbpipe.yaml"}}},
      {"runs list",
       {{"the runs of serve --executor local, newest first", "sbpipe runs list --config /etc/sbpipe/sbpipe.yaml"},
        {"as JSON", "sbpipe runs list -o json"}}},
      {"runs show", {{"one run: state, attempts, journal steps", "sbpipe runs show v1.12.4"}}},
      {"runs logs", {{"follow the newest run until it ends", "sbpipe runs logs -f @latest"}}},
      {"runs retry", {{"queue a failed run again; it resumes from its journal", "sbpipe runs retry v1.12.4"}}},
      {"runs cancel", {{"stop a run (sbpipe run and imager) or take it off the queue", "sbpipe runs cancel @latest"}}},
      {"registry", {{"log in to a registry (prompts on a terminal)", "sbpipe registry login ghcr.io -u alice"}}},
      {"registry login",
       {{"prompt for the password on a terminal", "sbpipe registry login ghcr.io -u alice"},
        {"from a script", "printf %s \"$TOKEN\" | sbpipe registry login ghcr.io -u alice --password-stdin"}}},
      {"registry logout", {{"forget the credentials for a registry", "sbpipe registry logout ghcr.io"}}},
      {"config", {{"write the commented example, then check it", "sbpipe config init && sbpipe config check"}}},
      {"config init", {{"write sbpipe.yaml", "sbpipe config init"}}},
      {"config check",
       {{"every unknown key and bad value at once", "sbpipe config check sbpipe.yaml"},
        {"and what every run needs, with the systemd unit's credentials",
         "sudo sbpipe config check --run /etc/sbpipe/sbpipe.yaml"}}},
      {"completion",
       {{"completion in this shell", "source <(sbpipe completion bash)"},
        {"for every new bash", "sbpipe completion bash > ~/.local/share/bash-completion/completions/sbpipe"}}},
      {"manifests",
       {{"the Argo manifests with your values", "sbpipe manifests render --config sbpipe.yaml --out deploy --vault build"}}},
      {"manifests render",
       {{"the Argo manifests with your values, Secrets from 1Password",
         "sbpipe manifests render --config sbpipe.yaml --out deploy --vault build"},
        {"Secrets from files, no operator",
         "sbpipe manifests render --config sbpipe.yaml --out deploy --secrets plain && kubectl apply -k "
         "deploy/overlays/receiver"}}},
      {"version", {{"the version, commit and build date as JSON", "sbpipe version -o json"}}},
      {"help", {{"the help of one command", "sbpipe help keys check"}}},
  };
  return examples;
}

}  // namespace

std::string examples_for(std::string_view path) {
  auto it = all_examples().find(path);
  if (it == all_examples().end()) return "";
  std::string text = "Examples:\n";
  for (const auto& [what, command] : it->second) text += "  # " + std::string(what) + "\n  $ " + command + "\n";
  return text;
}

}  // namespace sbpipe

// sbpipe push-installer (INPUT... | --plan PLAN --out DIR) --ref REGISTRY/REPO:TAG [--plain-http] [--digest-file F]
//                       [--sign-key KEY]

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/app.h"
#include "cli/duration_flags.h"
#include "cli/output.h"
#include "cli/plan_input.h"
#include "cli/registry_flags.h"
#include "core/file.h"
#include "pipeline/steps.h"
#include "plan/published.h"
#include "secureboot/x509.h"
#include "sigstore/keys.h"

namespace sbpipe {
namespace {

struct PushFlags {
  std::vector<std::string> inputs;
  PlanInputFlags plan;
  std::string ref;
  bool plain_http = false;
  RegistryAccess access;  // --authfile, --insecure
  std::string digest_file;
  std::string username;
  std::string password_file;
  std::string compression = "gzip";
  int compression_level = 0;
  std::vector<std::string> annotations;
  std::vector<std::string> mount_from;
  std::string ca_file;
  int retries = 5;
  int retry_delay_ms = 500;
  int jobs = 2;
  std::string arch;
  std::string sign_key;
  std::string write_public;
  std::string provenance_plan;
  std::string provenance_uki_cert;
  std::string provenance_pcr_pubkey;
  std::string provenance_release;
  std::string format = "text";
};

// The provenance's facts: the plan's inputs and kernel arguments, the
// fingerprints of the UKI certificate and the PCR public key.
Result<ProvenanceFacts> provenance_facts(const PushFlags& flags) {
  ProvenanceFacts facts;
  auto plan = load_plan(flags.provenance_plan);
  if (!plan) return fail(ErrorKind::usage, "--provenance-plan " + flags.provenance_plan + ": " + plan.error().message());
  add_plan_facts(*plan, facts);
  facts.release = flags.provenance_release;
  if (!flags.provenance_uki_cert.empty()) {
    auto pem = read_small_file(flags.provenance_uki_cert);
    if (!pem) return fail(ErrorKind::usage, "--provenance-uki-cert " + flags.provenance_uki_cert + ": " + pem.error().message());
    auto certs = parse_pem_certificates(*pem, "--provenance-uki-cert " + flags.provenance_uki_cert);
    if (!certs) return fail(ErrorKind::usage, certs.error().message());
    facts.uki_certificate_sha256 = certs->front().sha256;
  }
  if (!flags.provenance_pcr_pubkey.empty()) {
    auto key = PublicKey::load(flags.provenance_pcr_pubkey, "--provenance-pcr-pubkey");
    if (!key) return fail(key.error());
    facts.pcr_public_key_sha256 = key->fingerprint();
  }
  return facts;
}

Status run_push(const PushFlags& flags) {
  if (auto st = check_choice("--format", flags.format, {"text", "json", "yaml"}); !st) return st;
  auto plan = load_plan_input(flags.plan, flags.inputs, "INPUT");
  if (!plan) return fail(plan.error());
  std::vector<std::string> inputs = flags.inputs;
  if (*plan) {
    inputs = installer_inputs(**plan, flags.plan.out);
    if (inputs.empty()) return fail(ErrorKind::invalid_input, flags.plan.plan + ": the plan pushes no installer");
  }
  InstallerPush request{inputs,
                        flags.ref,
                        flags.compression,
                        flags.compression_level,
                        flags.annotations,
                        flags.mount_from,
                        flags.jobs,
                        RegistryAccess{flags.username, std::nullopt, flags.plain_http, flags.ca_file, {}}};
  if (!flags.password_file.empty()) request.registry.password_file = flags.password_file;
  request.registry.insecure = flags.access.insecure;
  request.registry.authfile = flags.access.authfile;
  if (!flags.arch.empty() && inputs.size() != 1)
    return fail(ErrorKind::usage, "--arch names the platform of one INPUT; with several, each image's config or layers must say");
  request.arch = flags.arch;
  request.sign_key = flags.sign_key;
  if (!flags.provenance_plan.empty()) {
    auto facts = provenance_facts(flags);
    if (!facts) return fail(facts.error());
    request.provenance = std::move(*facts);
  }
  request.registry.retry.max_attempts = flags.retries;
  request.registry.retry.base_delay = std::chrono::milliseconds(flags.retry_delay_ms);
  if (!flags.write_public.empty() && flags.sign_key.empty())
    return fail(ErrorKind::usage, "--write-public writes the public half of --sign-key; give --sign-key too");
  auto pushed = push_installer(request);
  if (!pushed) return fail(pushed.error());
  if (!flags.write_public.empty()) {
    auto key = SigningKey::load(flags.sign_key, "--sign-key");
    if (!key) return fail(key.error());
    if (auto st = write_file_atomically(flags.write_public, key->public_key().pem()); !st) return st;
  }
  if (!flags.digest_file.empty()) {
    if (auto st = write_file_atomically(flags.digest_file, pushed->digest + "\n"); !st) return st;
  }
  if (flags.format != "text")
    print_structured_result(flags.format,
                            {{"ref", pushed->name + "@" + pushed->digest},
                             {"name", pushed->name},
                             {"digest", pushed->digest},
                             {"signer", pushed->signer.empty() ? nlohmann::json() : nlohmann::json(pushed->signer)}});
  else
    print_result_line(pushed->name + "@" + pushed->digest);
  return {};
}

}  // namespace

void add_push_installer(CLI::App& app, CommandAction& action) {
  auto flags = std::make_shared<PushFlags>();
  CLI::App* cmd = app.add_subcommand("push-installer", "Push an installer image (docker-save or OCI layout) to a registry");
  cmd->add_option("INPUT", flags->inputs,
                  "docker-save tarball, OCI layout directory or OCI layout tarball; one per architecture");
  add_plan_input_flags(*cmd, flags->plan, "the installer inputs (one per architecture)");
  cmd->add_option("--ref", flags->ref, "Target REGISTRY/REPO:TAG")->required();
  cmd->add_flag("--plain-http", flags->plain_http,
                "Speak HTTP instead of HTTPS (without it, loopback and private addresses fall back to HTTP when HTTPS fails)");
  add_registry_access_flags(*cmd, flags->access);
  cmd->add_option("--digest-file", flags->digest_file, "Also write the pushed digest (sha256:<hex>) to this file");
  cmd->add_option("--username,--registry-username", flags->username, "Registry user name (with --password-file)");
  cmd->add_option("--password-file,--registry-password-file", flags->password_file,
                  "File holding the registry password or token");
  cmd->add_option("--compression", flags->compression, "For uncompressed layers")
      ->capture_default_str()
      ->type_name("{gzip,zstd,none}");
  cmd->add_option("--compression-level", flags->compression_level, "gzip 1-9 or zstd 1-19 (default: gzip 1, zstd 3)")
      ->check(CLI::Range(0, 19));
  cmd->add_option("--annotation", flags->annotations, "KEY=VALUE annotation on the pushed manifest/index (repeatable)");
  cmd->add_option("--arch", flags->arch,
                  "Architecture of an image whose config names none (Talos 1.8/1.9); default: from its usr/install/<arch>/")
      ->check(CLI::IsMember({"amd64", "arm64"}));
  cmd->add_option("--sign-key", flags->sign_key,
                  "The owner's signing key (PEM EC P-256 or RSA): signs the index and every per-arch manifest "
                  "(cosign .sig tag and a sigstore bundle) before any tag moves");
  cmd->add_option("--provenance-plan", flags->provenance_plan,
                  "With --sign-key: attach SLSA provenance (a signed in-toto attestation) built from this plan "
                  "(sbpipe plan --pin-digests --format json): the inputs by digest and the kernel arguments");
  cmd->add_option("--provenance-uki-cert", flags->provenance_uki_cert,
                  "The UKI signing certificate, named in the provenance by SHA-256");
  cmd->add_option("--provenance-pcr-pubkey", flags->provenance_pcr_pubkey,
                  "The PCR public key, named in the provenance by SHA-256");
  cmd->add_option("--provenance-release", flags->provenance_release, "The release the provenance names (e.g. OWNER/NAME@TAG)");
  cmd->add_option("--write-public", flags->write_public,
                  "Also write the signing key's public half (PEM) to this file, for finalize --signing-pubkey");
  cmd->add_option("--mount-from", flags->mount_from, "Repository on the same registry to mount existing blobs from (repeatable)");
  cmd->add_option("--ca-file,--registry-ca-file", flags->ca_file, "Extra CA bundle for the registry's TLS certificate");
  cmd->add_option("--retries", flags->retries, "Tries per blob or request before giving up")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  add_duration_flag(*cmd,
                    DurationFlag{.name = "--retry-delay",
                                 .description = "First back-off delay; doubles per try",
                                 .value = std::chrono::milliseconds(flags->retry_delay_ms),
                                 .legacy_ms_name = "--retry-delay-ms",
                                 .max = std::chrono::minutes(10)},
                    [flags](std::chrono::milliseconds d) { flags->retry_delay_ms = static_cast<int>(d.count()); });
  cmd->add_option("--jobs", flags->jobs, "Layers uploaded at once")->capture_default_str()->check(CLI::Range(1, 16));
  add_format_flag(*cmd, flags->format, {"text", "json", "yaml"}, "Result on stdout: REGISTRY/REPO@DIGEST, or a JSON object");
  cmd->callback([flags, &action] { action = [flags] { return run_push(*flags); }; });
}

}  // namespace sbpipe

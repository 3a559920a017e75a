#pragma once
// The pipeline's steps as library calls, shared by the one-step commands
// (`sbpipe push-installer`, `verify`, `finalize`: one Argo step each) and by
// `sbpipe run`, which runs them all in one process. Each takes its inputs
// already parsed; none prints.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "http/retry.h"
#include "oci/credentials.h"
#include "oci/image.h"
#include "oci/session.h"
#include "pipeline/slsa_provenance.h"
#include "plan/plan.h"
#include "release/release_notes.h"
#include "secureboot/verify.h"
#include "sigstore/keys.h"

namespace sbpipe {

// How a step reaches a registry: credentials (flags, else env, else the
// docker config) and transport.
struct RegistryAccess {
  std::string username;
  std::optional<std::string> password_file;
  bool plain_http = false;
  std::string ca_file;
  RetryPolicy retry;
  bool insecure = false;  // HTTPS without certificate verification (--insecure)
  std::string authfile;   // --authfile: this config.json instead of docker's
};

// The registry credentials for `registry`: flags, else environment, else
// the docker config (or access.authfile).
Result<Credentials> registry_credentials(const std::string& registry, const RegistryAccess& access);

// The transport part of `access`, for open_registry_session().
SessionOptions session_options(const RegistryAccess& access);

struct InstallerPush {
  std::vector<std::string> inputs;  // one per architecture
  std::string ref;                  // REGISTRY/REPO:TAG
  std::string compression = "gzip";
  int compression_level = 0;
  std::vector<std::string> annotations;  // KEY=VALUE
  std::vector<std::string> mount_from;
  int jobs = 2;
  RegistryAccess registry;
  // For images whose config names no architecture (Talos 1.8/1.9): the
  // architecture, else it is read from the image's usr/install/<arch>/.
  std::string arch;
  // The owner's signing key (PEM EC P-256 or RSA); empty: nothing is
  // signed. `sign_key_setting` names it in errors (--sign-key, run.sign_key).
  std::string sign_key;
  std::string sign_key_setting = "--sign-key";
  // With sign_key: the build's SLSA provenance, attached to the index (or
  // the one manifest) as a signed in-toto attestation (slsa_provenance.h).
  std::optional<ProvenanceFacts> provenance;
};

struct PushedInstaller {
  std::string name;    // REGISTRY/REPO:TAG as given
  std::string digest;  // sha256:<hex>
  bool changed = true;
  std::string signer;  // the signing key's SHA-256 fingerprint; empty when unsigned
};

// Reads and checks every input, then pushes (blobs, manifests, tags last).
// With a sign key, the key is read first (a bad key sends nothing), and
// the index and every per-arch manifest are signed (sigstore/
// image_signatures.h: the cosign .sig tag and a sigstore bundle) before
// any tag moves.
// An image whose config names no os/architecture gets linux/<arch> (from
// `arch` or its layers) as its platform, and the manifest or index an
// annotation saying so. usage errors for a bad reference, annotation or
// repository name. `clock` times the retries' back-off.
Result<PushedInstaller> push_installer(const InstallerPush& request, Clock& clock = real_clock());

// verify's options from the certificate file or db file (public material
// only: a file holding a private key is refused unread), an optional dbx,
// and the cmdline rules (empty: the defaults). Neither a certificate nor a
// db: each ISO is judged by the db it enrols. Errors name the file by the setting it came from
// (`cert_setting`, `pcr_pubkey_setting`): a flag for `sbpipe verify`, a
// config key such as run.cert_file for `sbpipe run`.
struct VerifyRequest {
  std::string cert_file;
  std::vector<std::string> require_cmdline;
  std::vector<std::string> forbid_cmdline;
  std::string pcr_pubkey_file;
  std::string cert_setting = "--cert";
  std::string pcr_pubkey_setting = "--pcr-pubkey";
  // The Talos version every UKI's .osrel must name; empty: not checked.
  std::string talos_version;
  std::string db_file;   // instead of cert_file: db.auth, an .esl or PEM certificates
  std::string dbx_file;  // optional
  std::string db_setting = "--db";
  std::string dbx_setting = "--dbx";
};
Result<VerifyOptions> verify_options(const VerifyRequest& request);

// Every EFI binary found in `paths`, each with its verdict. An input holding
// no EFI binary is an error.
Result<std::vector<Verdict>> verify_inputs(const std::vector<std::string>& paths, const VerifyOptions& options);

// What `verify` and run's gate report: verify_inputs' verdicts, then the
// Talos version line when the request names one (secureboot/talos_version.h)
// and one enrolment line per ISO (secureboot/enrolment_mode.h, never a
// failure). Errors as verify_options and verify_inputs.
Result<std::vector<Verdict>> verify_build(const std::vector<std::string>& paths, const VerifyRequest& request);
// The report: one aligned line per binary, and the JSON form.
std::string verdicts_text(const std::vector<Verdict>& verdicts);
nlohmann::json verdicts_json(const std::vector<Verdict>& verdicts);
// invalid_input "N of M EFI binaries failed verification" when any failed.
Status verdicts_status(const std::vector<Verdict>& verdicts);

// usage error naming `flag` unless `ref` is REGISTRY/REPO[:TAG]@sha256:<hex>.
Status check_installer_ref(const std::string& ref, const std::string& flag);

// The check finalize runs before it publishes: the manifest `ref`
// (REGISTRY/REPO[:TAG]@sha256:...) exists, and the tag still points at it.
// invalid_input when it does not; the registry's errors otherwise.
Status check_installer(const std::string& ref, const RegistryAccess& access);

// Whether the installer `ref` (REGISTRY/REPO[:TAG]@sha256:...) and, for an
// index, each of its per-arch manifests carry a signature by
// `public_key_file` where Talos looks (sigstore/image_signatures.h).
// invalid_input naming the digest and why not; config when the key file
// is unusable.
Status check_installer_signed(const std::string& ref, const RegistryAccess& access, const std::string& public_key_file,
                              const std::string& key_setting);
// The same with the key already read; `key_name` names it in the refusal.
Status check_installer_signed(const std::string& ref, const RegistryAccess& access, const PublicKey& key,
                              const std::string& key_name);

// A registry's refusal (an auth error) with the next step: where the
// credentials came from and what pushing to `repository` needs. Other
// errors are returned as they are.
Error with_registry_auth_hint(Error error, const std::string& repository);

// Whether the registry of `ref` (REGISTRY/REPO:TAG, what push_installer
// will push) accepts the credentials push_installer would use, for push:
// a session with the pull,push scope, then an upload opened and cancelled
// (Registry::check_push). Nothing is pushed. auth errors when refused
// (with_registry_auth_hint's).
Status check_push_access(const std::string& ref, const RegistryAccess& access);

// The digest `ref`'s tag names now (a HEAD of its manifest), with the
// credentials push-installer would use for that registry: sha256:<hex>.
Result<std::string> resolve_image_digest(const ImageRef& ref, const RegistryAccess& access);

// Checks the plan's inputs (pinned) against `rules` (sigstore/
// input_verification.h), reading signatures with the credentials
// push-installer would use for each registry (pull scope). invalid_input
// naming the image, the rule and why on the first refusal.
Status check_plan_inputs(const Plan& plan, const ImageVerificationRules& rules, const RegistryAccess& access);

// What the release notes say about a build configured by `config`.
ReleaseFacts release_facts(const std::string& version, const std::string& installer_ref, const PlanConfig* config);

}  // namespace sbpipe

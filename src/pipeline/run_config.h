#pragma once
// The `run:` section of the sbpipe config: where `sbpipe run` (runner.h)
// keeps its state, finds the public keys verify needs, runs imager and
// publishes; and the state directory's default.

#include <filesystem>
#include <string>
#include <vector>

#include "core/config_keys.h"
#include "pipeline/steps.h"

namespace sbpipe {

struct RunSettings {
  std::string repo;                                 // OWNER/NAME: the GitHub release (and release.json's repository)
  std::string target = "github";                    // or dir:PATH (release/target_spec.h)
  std::string state_dir;                            // empty: default_state_dir()
  std::string keys_dir = "/etc/sbpipe/secureboot";  // given to imager only, as {keys}
  std::string cert_file;                            // empty: <keys_dir>/uki-signing-cert.pem (public; verify reads only this)
  // The PCR public key nodes are sealed to (verify --pcr-pubkey); empty:
  // <keys_dir>/pcr-signing-key.pub.pem, as `keys check --write-public` writes it.
  std::string pcr_public_key;
  // imager's command line: words with {keys} {out} {image} in them, and a
  // word {args} that becomes imager's arguments from the plan
  // (imager_command.h).
  std::vector<std::string> imager_command{"docker", "run",        "--rm",    "-v",    "{keys}:/secureboot:ro",
                                          "-v",     "{out}:/out", "{image}", "{args}"};
  // The directory imager writes to as imager sees it (the --output value):
  // "/out" in a container with {out} mounted there, "{out}" for a program
  // run directly.
  std::string imager_output = "/out";
  std::string installer_repository;  // REGISTRY/REPO; the tag is the version; empty: no push
  // The previous release's installer, for continuity (continuity.h); empty:
  // installer_repository's highest version below this one.
  std::string previous_ref;
  std::string source_dir;  // checkout of the build repository (provenance)
  // The owner's image and release signing key (PEM EC P-256 or RSA, as
  // push-installer --sign-key): the installer gets cosign's .sig tag and a
  // sigstore bundle, every release file its NAME.sigstore.json, and
  // finalize checks both before it promotes. Empty: nothing is signed.
  std::string sign_key;
  bool make_latest = true;
  RegistryAccess registry;
  std::string github_api = "https://api.github.com";
  std::string github_token_file;
  std::vector<std::string> require_cmdline;
  std::vector<std::string> forbid_cmdline;
};

// config error naming the file and key for unknown keys, wrong types and an
// imager_command with an unknown placeholder or no {args}.
Result<RunSettings> parse_run_config(std::string_view yaml, std::string_view label);
Result<RunSettings> load_run_config(const std::filesystem::path& path);
// The keys parse_run_config reads, for the whole file's check (config_check.h).
ConfigSection run_config_section();

// The state directory: env SBPIPE_STATE_DIR, else systemd's
// STATE_DIRECTORY, else $XDG_STATE_HOME/sbpipe, else ~/.local/state/sbpipe.
std::filesystem::path default_state_dir();

// The state directory run_pipeline uses: run.state_dir, else default_state_dir().
std::filesystem::path state_root(const RunSettings& settings);

// The files verify reads: run.cert_file, else <keys_dir>/uki-signing-cert.pem;
// run.pcr_public_key, else <keys_dir>/pcr-signing-key.pub.pem.
std::string cert_path(const RunSettings& settings);
std::string pcr_public_path(const RunSettings& settings);

// config error naming the setting and the file when the certificate (or
// the PCR public key, with how to write it) is not a file.
Status check_cert_input(const RunSettings& settings);
Status check_pcr_public_input(const RunSettings& settings);

}  // namespace sbpipe

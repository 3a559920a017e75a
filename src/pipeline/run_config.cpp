#include "pipeline/run_config.h"

#include <cstdlib>

#include "core/config_file.h"
#include "core/file.h"
#include "pipeline/imager_command.h"

namespace sbpipe {
namespace fs = std::filesystem;

namespace {

// What parse_run_config reads (keep the two together).
constexpr std::string_view k_run_keys[] = {"repo",
                                           "target",
                                           "state_dir",
                                           "keys_dir",
                                           "cert_file",
                                           "pcr_public_key",
                                           "imager_output",
                                           "installer_repository",
                                           "previous_ref",
                                           "source_dir",
                                           "sign_key",
                                           "make_latest",
                                           "registry_username",
                                           "registry_password_file",
                                           "plain_http",
                                           "registry_ca_file",
                                           "github_api",
                                           "github_token_file",
                                           "require_cmdline",
                                           "forbid_cmdline",
                                           "imager_command"};

}  // namespace

ConfigSection run_config_section() { return {"run", k_run_keys}; }

Result<RunSettings> parse_run_config(std::string_view yaml, std::string_view label) {
  RunSettings s;
  std::string password_file;
  auto st = visit_config_section(yaml, label, "run", [&](const std::string& name, const YAML::Node& value) -> Status {
    std::string key = "run." + name;
    if (name == "repo") return read_config_string(value, key, s.repo, label);
    if (name == "target") return read_config_string(value, key, s.target, label);
    if (name == "state_dir") return read_config_string(value, key, s.state_dir, label);
    if (name == "keys_dir") return read_config_string(value, key, s.keys_dir, label);
    if (name == "cert_file") return read_config_string(value, key, s.cert_file, label);
    if (name == "pcr_public_key") return read_config_string(value, key, s.pcr_public_key, label);
    if (name == "imager_output") return read_config_string(value, key, s.imager_output, label);
    if (name == "installer_repository") return read_config_string(value, key, s.installer_repository, label);
    if (name == "previous_ref") return read_config_string(value, key, s.previous_ref, label);
    if (name == "source_dir") return read_config_string(value, key, s.source_dir, label);
    if (name == "sign_key") return read_config_string(value, key, s.sign_key, label);
    if (name == "make_latest") return read_config_bool(value, key, s.make_latest, label);
    if (name == "registry_username") return read_config_string(value, key, s.registry.username, label);
    if (name == "registry_password_file") return read_config_string(value, key, password_file, label);
    if (name == "plain_http") return read_config_bool(value, key, s.registry.plain_http, label);
    if (name == "registry_ca_file") return read_config_string(value, key, s.registry.ca_file, label);
    if (name == "github_api") return read_config_string(value, key, s.github_api, label);
    if (name == "github_token_file") return read_config_string(value, key, s.github_token_file, label);
    if (name == "require_cmdline") return read_config_list(value, key, s.require_cmdline, label);
    if (name == "forbid_cmdline") return read_config_list(value, key, s.forbid_cmdline, label);
    if (name == "imager_command") {
      if (value.IsSequence()) return read_config_list(value, key, s.imager_command, label);
      std::string text;
      if (auto r = read_config_string(value, key, text, label); !r) return r;
      auto words = split_command(text);
      if (!words) return config_error(label, key + ": " + words.error().message());
      s.imager_command = std::move(*words);
      return {};
    }
    return config_error(label, "unknown key " + key);
  });
  if (!st) return fail(st.error());
  if (!password_file.empty()) s.registry.password_file = password_file;
  if (auto r = check_imager_command(s.imager_command, label, "run.imager_command"); !r) return fail(r.error());
  return s;
}

Result<RunSettings> load_run_config(const fs::path& path) {
  auto text = read_small_file(path);
  if (!text) return fail(ErrorKind::config, "--config: " + text.error().message());
  return parse_run_config(*text, path.string());
}

fs::path default_state_dir() {
  auto env = [](const char* name) -> std::string {
    const char* v = std::getenv(name);
    return v ? v : "";
  };
  if (auto v = env("SBPIPE_STATE_DIR"); !v.empty()) return v;
  if (auto v = env("STATE_DIRECTORY"); !v.empty()) return fs::path(v.substr(0, v.find(':')));  // systemd may list several
  if (auto v = env("XDG_STATE_HOME"); !v.empty()) return fs::path(v) / "sbpipe";
  if (auto v = env("HOME"); !v.empty()) return fs::path(v) / ".local/state/sbpipe";
  return "/var/lib/sbpipe";
}

fs::path state_root(const RunSettings& settings) {
  return settings.state_dir.empty() ? default_state_dir() : fs::path(settings.state_dir);
}

std::string cert_path(const RunSettings& settings) {
  return settings.cert_file.empty() ? (fs::path(settings.keys_dir) / "uki-signing-cert.pem").string() : settings.cert_file;
}

std::string pcr_public_path(const RunSettings& settings) {
  return settings.pcr_public_key.empty() ? (fs::path(settings.keys_dir) / "pcr-signing-key.pub.pem").string()
                                         : settings.pcr_public_key;
}

Status check_cert_input(const RunSettings& settings) {
  std::error_code ec;
  if (!fs::is_regular_file(cert_path(settings), ec))
    return fail(ErrorKind::config, (settings.cert_file.empty() ? "run.keys_dir: " : "run.cert_file: ") + cert_path(settings) +
                                       ": missing (the UKI signing certificate verify checks signatures against)");
  return {};
}

Status check_pcr_public_input(const RunSettings& settings) {
  std::error_code ec;
  if (!fs::is_regular_file(pcr_public_path(settings), ec)) {
    if (!settings.pcr_public_key.empty())
      return fail(ErrorKind::config, "run.pcr_public_key: " + settings.pcr_public_key + ": missing");
    return fail(ErrorKind::config, "run.keys_dir: " + pcr_public_path(settings) +
                                       ": missing; verify checks every UKI against the PCR public key your nodes are sealed "
                                       "to, and never reads the private key: write it once with `sbpipe keys check " +
                                       settings.keys_dir + " --write-public " + settings.keys_dir +
                                       "`, or set run.pcr_public_key");
  }
  return {};
}

}  // namespace sbpipe

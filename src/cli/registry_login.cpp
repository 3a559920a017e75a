// sbpipe registry login REGISTRY [-u USER] [--password-stdin] [--authfile F] [--plain-http] [--insecure] [--ca-file F]
// sbpipe registry logout REGISTRY [--authfile F]
//
// As `docker login` and `crane auth login` do: the credentials are checked
// against the registry first (GET /v2/ and, for a token registry, a token
// request with them), then saved into docker's config.json (or --authfile)
// or handed to the credential helper that file names for the registry.
// The password is read from stdin: piped with --password-stdin, or typed
// at the prompt when stdin is a terminal (without echo; the user name is
// asked too when -u is not given), never from a flag, whose value would sit
// in the shell history and in `ps` (docker warns about -p for the same
// reason). logout removes what login saved, as `docker logout` does.

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <iostream>
#include <iterator>
#include <memory>

#include "cli/app.h"
#include "cli/output.h"
#include "cli/registry_flags.h"
#include "core/prompt.h"
#include "core/redact.h"
#include "oci/docker_config.h"
#include "oci/reference.h"
#include "oci/registry.h"
#include "pipeline/steps.h"

namespace sbpipe {
namespace {

struct LoginFlags {
  std::string registry;
  std::string username;
  bool password_stdin = false;
  std::string password;  // refused: only here to say why
  bool plain_http = false;
  std::string ca_file;
  RegistryAccess access;  // --authfile, --insecure
};

// "ghcr.io" from "ghcr.io", "https://ghcr.io" or "https://ghcr.io/";
// usage error for anything with a path.
Result<std::string> registry_host(std::string text) {
  for (const char* scheme : {"https://", "http://"})
    if (text.starts_with(scheme)) text = text.substr(std::string_view(scheme).size());
  while (text.ends_with("/")) text.pop_back();
  if (text == "index.docker.io/v1") text = "index.docker.io";
  if (text.empty() || text.find_first_of("/ @") != std::string::npos)
    return fail(ErrorKind::usage, "registry login: '" + text + "' is not a registry host (e.g. ghcr.io or 127.0.0.1:5000)");
  return text;
}

// The password as docker reads it from stdin: everything, less one trailing
// newline (and a carriage return before it).
Result<std::string> read_password_stdin() {
  std::string text;
  char buffer[4096];
  while (std::cin.read(buffer, sizeof buffer) || std::cin.gcount() > 0) {
    text.append(buffer, static_cast<size_t>(std::cin.gcount()));
    if (text.size() > 64 * 1024) return fail(ErrorKind::usage, "registry login: the password on stdin is over 64 KiB");
  }
  if (text.ends_with("\n")) text.pop_back();
  if (text.ends_with("\r")) text.pop_back();
  if (text.empty())
    return fail(ErrorKind::usage, "registry login: stdin held no password (--password-stdin reads it from there)");
  register_secret(text);
  return text;
}

Status run_login(const LoginFlags& flags) {
  if (!flags.password.empty())
    return fail(ErrorKind::usage,
                "registry login: --password is not taken (a password in a flag stays in shell history and ps); type it at "
                "the prompt, or pipe it in with --password-stdin");
  const bool prompt = !flags.password_stdin && stdin_is_terminal();
  if (!flags.password_stdin && !prompt)
    return fail(ErrorKind::usage,
                "registry login: stdin is no terminal to ask on: pipe the password in, printf %s \"$TOKEN\" | sbpipe "
                "registry login REGISTRY -u USER --password-stdin");
  auto host = registry_host(flags.registry);
  if (!host) return fail(host.error());
  std::string username = flags.username;
  if (username.empty() && prompt) {
    auto typed = prompt_line("Username: ", Echo::on);
    if (!typed) return fail(typed.error().with_context("registry login"));
    username = *typed;
  }
  if (username.empty()) return fail(ErrorKind::usage, "registry login: -u USER must not be empty");
  Result<std::string> password = prompt ? prompt_line("Password: ", Echo::off) : read_password_stdin();
  if (!password) return fail(password.error().with_context("registry login"));
  if (password->empty()) return fail(ErrorKind::usage, "registry login: the password must not be empty");
  register_secret(*password);
  Credentials credentials{username, std::move(*password)};

  auto path = docker_config_path(flags.access.authfile, process_getenv);
  if (!path)
    return fail(ErrorKind::config, "registry login: nowhere to save: neither DOCKER_CONFIG nor HOME is set (or pass --authfile)");

  RegistryAccess access = flags.access;
  access.plain_http = flags.plain_http;
  access.ca_file = flags.ca_file;
  std::string api_host = Reference{*host, "", ""}.api_host();
  auto session = open_registry_session(api_host, "", credentials, {}, session_options(access));
  if (!session) return fail(session.error());
  if (auto st = session->registry->ping(); !st)
    return fail(st.error().with_context("registry login " + *host + " (nothing saved)"));

  auto saved = save_docker_login(*path, *host, credentials);
  if (!saved) return fail(saved.error().with_context("registry login " + *host));
  if (saved->helper.empty())
    spdlog::info("credentials for {} saved in {}", *host, saved->path.string());
  else
    spdlog::info("credentials for {} stored by docker-credential-{} (named by {})", *host, saved->helper, saved->path.string());
  print_result_line("Login Succeeded");
  return {};
}

Status run_logout(const LoginFlags& flags) {
  auto host = registry_host(flags.registry);
  if (!host) return fail(host.error());
  auto path = docker_config_path(flags.access.authfile, process_getenv);
  if (!path)
    return fail(ErrorKind::config, "registry logout: no config.json: neither DOCKER_CONFIG nor HOME is set (or pass --authfile)");
  auto removed = remove_docker_login(*path, *host);
  if (!removed) return fail(removed.error().with_context("registry logout " + *host));
  if (!*removed) {
    print_result_line("Not logged in to " + *host);  // as docker logout says it, exit 0
    return {};
  }
  spdlog::info("credentials for {} removed from {}", *host, path->string());
  print_result_line("Removing login credentials for " + *host);
  return {};
}

}  // namespace

void add_registry(CLI::App& app, CommandAction& action) {
  auto flags = std::make_shared<LoginFlags>();
  CLI::App* registry = app.add_subcommand("registry", "Registry credentials (as docker login / crane auth login)");
  registry->require_subcommand(1);
  CLI::App* cmd = registry->add_subcommand(
      "login", "Check a registry login, then save it in docker's config.json (or its credential helper)");
  cmd->add_option("REGISTRY", flags->registry, "Registry host, e.g. ghcr.io or 127.0.0.1:5000")->required();
  cmd->add_option("-u,--username", flags->username, "User name (GHCR: your GitHub user); asked for on a terminal when not given");
  cmd->add_flag("--password-stdin", flags->password_stdin,
                "Read the password or token from stdin (without it, a terminal is asked, without echo)");
  cmd->add_option("-p,--password", flags->password, "Refused: pass the password on stdin with --password-stdin")
      ->group("");  // hidden: it exists to say why it is refused
  cmd->add_flag("--plain-http", flags->plain_http,
                "Speak HTTP instead of HTTPS (without it, loopback and private addresses fall back to HTTP when HTTPS fails)");
  cmd->add_option("--ca-file", flags->ca_file, "Extra CA bundle for the registry's TLS certificate");
  add_registry_access_flags(*cmd, flags->access);
  cmd->callback([flags, &action] { action = [flags] { return run_login(*flags); }; });

  auto out = std::make_shared<LoginFlags>();
  CLI::App* logout =
      registry->add_subcommand("logout", "Remove a registry login from docker's config.json (or its credential helper)");
  logout->add_option("REGISTRY", out->registry, "Registry host, e.g. ghcr.io")->required();
  logout->add_option("--authfile", out->access.authfile, "This config.json instead of docker's");
  logout->callback([out, &action] { action = [out] { return run_logout(*out); }; });
}

}  // namespace sbpipe

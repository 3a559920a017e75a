#include "oci/credential_helper.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <vector>

#include "core/redact.h"
#include "core/subprocess.h"

extern char** environ;

namespace sbpipe {
namespace {

struct Answer {
  int status = -1;
  std::string out;
};

// Starts argv with `input` on its stdin and collects its stdout (stderr
// stays ours). The environment is ours minus sbpipe's secrets.
Result<Answer> exchange(const std::vector<std::string>& argv, const std::string& input) {
  int in[2];
  int out[2];
  if (pipe2(in, O_CLOEXEC) != 0) return fail(ErrorKind::io, std::string("pipe: ") + std::strerror(errno));
  if (pipe2(out, O_CLOEXEC) != 0) {
    close(in[0]);
    close(in[1]);
    return fail(ErrorKind::io, std::string("pipe: ") + std::strerror(errno));
  }
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    bool secret = false;
    for (const auto& name : secret_env_names()) secret = secret || entry.starts_with(name + "=");
    if (!secret) env.push_back(std::move(entry));
  }
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> argp;
  for (auto& a : args) argp.push_back(a.data());
  argp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, argp[0], &actions, nullptr, argp.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(in[0]);
  close(out[1]);
  if (rc != 0) {
    close(in[1]);
    close(out[0]);
    if (rc == ENOENT) return Answer{127, ""};
    return fail(ErrorKind::config, "cannot start " + argv[0] + ": " + std::strerror(rc));
  }
  // The input is one short line or a small JSON object: it fits the pipe
  // buffer, so write, close, then read to the end.
  ssize_t ignored = write(in[1], input.data(), input.size());
  (void)ignored;
  close(in[1]);
  Answer answer;
  char buffer[4096];
  for (ssize_t n; (n = read(out[0], buffer, sizeof buffer)) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (answer.out.size() < 1 << 20) answer.out.append(buffer, static_cast<size_t>(n));
  }
  close(out[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  answer.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return answer;
}

Status check_helper_name(const std::string& helper) {
  if (helper.empty() || helper.find('/') != std::string::npos)
    return fail(ErrorKind::config, "docker config: credential helper name '" + helper + "' is not a plain name");
  return {};
}

}  // namespace

Result<std::optional<Credentials>> credentials_from_helper(const std::string& helper, const std::string& registry) {
  if (auto st = check_helper_name(helper); !st) return fail(st.error());
  const std::string program = "docker-credential-" + helper;
  auto answer = exchange({program, "get"}, registry + "\n");
  if (!answer) return fail(answer.error());
  if (answer->status != 0) {
    if (answer->out.find("credentials not found") != std::string::npos) return std::optional<Credentials>{};
    if (answer->status == 127)
      return fail(ErrorKind::config, program + " is not in PATH (config.json names the credential helper '" + helper + "')");
    return fail(ErrorKind::config, program + " get " + registry + " failed with exit status " + std::to_string(answer->status));
  }
  auto json = nlohmann::json::parse(answer->out, nullptr, false);
  if (json.is_discarded() || !json.is_object() || !json.contains("Secret") || !json["Secret"].is_string())
    return fail(ErrorKind::config, program + " get " + registry + ": the answer is not {\"Username\", \"Secret\"} JSON");
  Credentials creds;
  if (json.contains("Username") && json["Username"].is_string()) creds.username = json["Username"];
  creds.password = json["Secret"];
  register_secret(creds.password);
  if (creds.username == "<token>")
    return fail(ErrorKind::config, program + " holds an identity token for " + registry +
                                       ", which sbpipe cannot use; log in with a user name and a password or access token");
  return std::optional<Credentials>{std::move(creds)};
}

Status store_in_helper(const std::string& helper, const std::string& registry, const Credentials& credentials) {
  if (auto st = check_helper_name(helper); !st) return st;
  const std::string program = "docker-credential-" + helper;
  nlohmann::json request{{"ServerURL", registry}, {"Username", credentials.username}, {"Secret", credentials.password}};
  auto answer = exchange({program, "store"}, request.dump());
  if (!answer) return fail(answer.error());
  if (answer->status == 127)
    return fail(ErrorKind::config, program + " is not in PATH (config.json names the credential helper '" + helper + "')");
  if (answer->status != 0)
    return fail(ErrorKind::config, program + " store " + registry + " failed with exit status " + std::to_string(answer->status));
  return {};
}

Status erase_in_helper(const std::string& helper, const std::string& registry) {
  if (auto st = check_helper_name(helper); !st) return st;
  const std::string program = "docker-credential-" + helper;
  auto answer = exchange({program, "erase"}, registry + "\n");  // the server URL, as for get
  if (!answer) return fail(answer.error());
  if (answer->status == 127)
    return fail(ErrorKind::config, program + " is not in PATH (config.json names the credential helper '" + helper + "')");
  if (answer->status != 0)
    return fail(ErrorKind::config, program + " erase " + registry + " failed with exit status " + std::to_string(answer->status));
  return {};
}

}  // namespace sbpipe

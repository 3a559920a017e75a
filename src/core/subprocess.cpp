#include "core/subprocess.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

extern char** environ;

namespace sbpipe {

const std::vector<std::string>& secret_env_names() {
  static const std::vector<std::string> names{"GH_TOKEN", "GITHUB_TOKEN", "SBPIPE_REGISTRY_PASSWORD", "SBPIPE_WEBHOOK_SECRET"};
  return names;
}

std::optional<std::string> find_program(const std::string& name) {
  auto executable = [](const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
  };
  if (name.empty()) return std::nullopt;
  if (name.find('/') != std::string::npos) return executable(name) ? std::optional(name) : std::nullopt;
  const char* path = std::getenv("PATH");
  std::string_view entries = path ? path : "/usr/local/bin:/usr/bin:/bin";
  for (size_t start = 0; start <= entries.size();) {
    size_t end = std::min(entries.find(':', start), entries.size());
    std::string dir(entries.substr(start, end - start));
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (executable(candidate)) return candidate;
    start = end + 1;
  }
  return std::nullopt;
}

Result<int> run_child(const ChildSpec& spec, std::atomic<pid_t>* pid_out) {
  if (spec.argv.empty()) return fail(ErrorKind::usage, "empty command");
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string entry(*e);
    std::string name = entry.substr(0, entry.find('='));
    bool dropped = std::find(spec.unset_env.begin(), spec.unset_env.end(), name) != spec.unset_env.end();
    for (const auto& [set_name, value] : spec.set_env) dropped = dropped || set_name == name;
    if (!dropped) env.push_back(std::move(entry));
  }
  for (const auto& [name, value] : spec.set_env) env.push_back(name + "=" + value);
  std::vector<char*> envp, argv;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = spec.argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (spec.output) {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, spec.output->c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  } else {
    posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);
  }
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  if (spec.new_process_group) {
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attributes, 0);
  }
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, argv[0], &actions, &attributes, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (rc != 0) return fail(ErrorKind::io, "cannot start " + spec.argv[0] + ": " + std::strerror(rc));
  if (pid_out) *pid_out = pid;
  int status = 0;
  pid_t waited;
  do {
    waited = ::waitpid(pid, &status, 0);
  } while (waited < 0 && errno == EINTR);
  if (pid_out) *pid_out = 0;
  if (waited < 0) return fail(ErrorKind::io, "waiting for " + spec.argv[0] + ": " + std::strerror(errno));
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

}  // namespace sbpipe

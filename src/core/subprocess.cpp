#include "core/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

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

std::optional<uint64_t> process_start_time(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  // "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses, so
  // the fields are counted from the last ')'; starttime is field 22.
  auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(line.substr(close + 1));
  std::string field;
  for (int n = 3; n <= 22; ++n)
    if (!(fields >> field)) return std::nullopt;
  char* end = nullptr;
  uint64_t ticks = std::strtoull(field.c_str(), &end, 10);
  if (end == field.c_str() || *end != '\0') return std::nullopt;
  return ticks;
}

bool signal_started_group(const StartedChild& child, int signal) {
  if (child.pid <= 1) return false;
  auto started = process_start_time(child.pid);
  if (!started || (child.start_time != 0 && *started != child.start_time)) return false;
  return ::kill(-child.pid, signal) == 0;
}

namespace {

// Reads the child's output from `fd` until the pipe ends or the child has
// exited (a grandchild that keeps the pipe open must not hold the caller),
// appending it to spec.output and handing each line to spec.on_output_line.
// Returns waitpid's answer when the child was reaped here, else 0. Closes fd.
pid_t relay_output(int fd, pid_t pid, int& status, const ChildSpec& spec) {
  int file = spec.output ? ::open(spec.output->c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600) : -1;
  std::string partial;
  auto take = [&](const char* data, size_t n) {
    if (file >= 0) (void)!::write(file, data, n);
    partial.append(data, n);
    for (size_t nl; (nl = partial.find('\n')) != std::string::npos; partial.erase(0, nl + 1))
      spec.on_output_line(std::string_view(partial).substr(0, nl));
  };
  pid_t reaped = 0;
  char buffer[16 * 1024];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    int ready = ::poll(&p, 1, 200);
    if (ready > 0) {
      ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n > 0) {
        take(buffer, static_cast<size_t>(n));
        continue;
      }
      if (n == 0 || errno != EINTR) break;  // every writer closed it
      continue;
    }
    if (reaped == 0) reaped = ::waitpid(pid, &status, WNOHANG);
    if (reaped > 0) {  // exited; what it wrote is in the pipe now
      ::fcntl(fd, F_SETFL, O_NONBLOCK);
      for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) take(buffer, static_cast<size_t>(n));
      break;
    }
  }
  if (!partial.empty()) spec.on_output_line(partial);
  if (file >= 0) ::close(file);
  ::close(fd);
  return reaped;
}

}  // namespace

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

  // With on_output_line, the child writes into a pipe this thread reads
  // (copying each chunk into `output` as well) while it waits.
  int lines[2] = {-1, -1};
  if (spec.on_output_line && ::pipe2(lines, O_CLOEXEC) != 0)
    return fail(ErrorKind::io, std::string("cannot make a pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (lines[1] >= 0) {
    posix_spawn_file_actions_adddup2(&actions, lines[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, lines[1], STDERR_FILENO);
  } else if (spec.output) {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, spec.output->c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  } else {
    posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);
  }
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // The child starts with no signal blocked and SIGINT, SIGTERM and SIGPIPE
  // at their defaults, whatever this thread has: serve and run block SIGINT
  // and SIGTERM for the thread that waits on them, and a child inheriting
  // that mask would ignore the SIGTERM that stops it (`runs cancel`).
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int s : {SIGINT, SIGTERM, SIGPIPE}) sigaddset(&defaults, s);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  if (spec.new_process_group) {
    flags |= POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setpgroup(&attributes, 0);
  }
  posix_spawnattr_setflags(&attributes, flags);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, argv[0], &actions, &attributes, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (lines[1] >= 0) ::close(lines[1]);
  if (rc != 0) {
    if (lines[0] >= 0) ::close(lines[0]);
    return fail(ErrorKind::io, "cannot start " + spec.argv[0] + ": " + std::strerror(rc));
  }
  if (pid_out) *pid_out = pid;
  if (spec.on_start) spec.on_start(StartedChild{pid, process_start_time(pid).value_or(0)});
  int status = 0;
  pid_t waited = 0;
  if (lines[0] >= 0) waited = relay_output(lines[0], pid, status, spec);
  while (waited == 0 || (waited < 0 && errno == EINTR)) waited = ::waitpid(pid, &status, 0);
  if (pid_out) *pid_out = 0;
  if (waited < 0) return fail(ErrorKind::io, "waiting for " + spec.argv[0] + ": " + std::strerror(errno));
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

}  // namespace sbpipe

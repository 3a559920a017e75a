#include "oci/credential_helper.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <optional>
#include <vector>

#include "core/escape.h"
#include "core/redact.h"
#include "core/subprocess.h"

extern char** environ;

namespace sbpipe {
namespace {

struct Answer {
  int status = -1;
  std::string out;
  std::string err;  // its last line, redacted and escaped, for messages
};

// What a helper may take and say (issue 30): docker's helpers answer at
// once with a few hundred bytes.
constexpr auto k_helper_deadline = std::chrono::seconds(30);
constexpr size_t k_helper_output_max = 1 << 20;
constexpr size_t k_helper_stderr_kept = 4096;

// The last non-empty line of a helper's stderr, fit for a message.
std::string last_line(const std::string& text) {
  size_t end = text.find_last_not_of("\r\n");
  if (end == std::string::npos) return "";
  size_t start = text.find_last_of('\n', end);
  std::string line =
      text.substr(start == std::string::npos ? 0 : start + 1, end - (start == std::string::npos ? 0 : start + 1) + 1);
  if (line.size() > 200) line = line.substr(0, 200) + "...";
  return escape_controls(redact(line));
}

// Writes `input` to the helper's stdin with SIGPIPE held back: a helper
// that exits without reading must not take sbpipe with it.
void write_input(int fd, const std::string& input) {
  sigset_t pipe_only, old;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
  for (size_t done = 0; done < input.size();) {
    ssize_t n = write(fd, input.data() + done, input.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EPIPE: it did not want it
    done += static_cast<size_t>(n);
  }
  // Take a SIGPIPE this write raised before letting the signal through again.
  timespec zero{0, 0};
  while (sigtimedwait(&pipe_only, nullptr, &zero) == SIGPIPE) {}
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

// Starts argv with `input` on its stdin, collects its stdout (at most
// k_helper_output_max) and its stderr (kept for messages, redacted), and
// waits at most k_helper_deadline. The environment is ours minus sbpipe's
// secrets.
Result<Answer> exchange(const std::vector<std::string>& argv, const std::string& input) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0) return fail(ErrorKind::io, std::string("pipe: ") + std::strerror(errno));
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
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
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, argp[0], &actions, nullptr, argp.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(in[0]);
  close(out[1]);
  close(err[1]);
  if (rc != 0) {
    close(in[1]);
    close(out[0]);
    close(err[0]);
    if (rc == ENOENT) return Answer{127, "", ""};
    return fail(ErrorKind::config, "cannot start " + argv[0] + ": " + std::strerror(rc));
  }
  // The input is one short line or a small JSON object: it fits the pipe
  // buffer, so write and close before reading.
  write_input(in[1], input);
  close(in[1]);
  Answer answer;
  std::string errors;
  std::optional<std::string> problem;
  auto deadline = std::chrono::steady_clock::now() + k_helper_deadline;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  while ((fds[0].fd >= 0 || fds[1].fd >= 0) && !problem) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      problem = "gave no answer within " + std::to_string(k_helper_deadline.count()) + " s";
      break;
    }
    int ready = poll(fds, 2, static_cast<int>(left));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) break;
    char buffer[4096];
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = read(fds[i].fd, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        continue;
      }
      if (i == 0) {
        answer.out.append(buffer, static_cast<size_t>(n));
        if (answer.out.size() > k_helper_output_max)
          problem = "answered more than " + std::to_string(k_helper_output_max) + " bytes";
      } else {
        errors.append(buffer, static_cast<size_t>(n));
        if (errors.size() > 2 * k_helper_stderr_kept) errors.erase(0, errors.size() - k_helper_stderr_kept);
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) close(f.fd);
  if (problem) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  if (problem) return fail(ErrorKind::config, argv[0] + " " + argv[1] + " " + *problem + "; it was stopped");
  answer.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  answer.err = last_line(errors);
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
    return fail(ErrorKind::config, program + " get " + registry + " failed with exit status " + std::to_string(answer->status) +
                                       (answer->err.empty() ? "" : ": " + answer->err));
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
    return fail(ErrorKind::config, program + " store " + registry + " failed with exit status " + std::to_string(answer->status) +
                                       (answer->err.empty() ? "" : ": " + answer->err));
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

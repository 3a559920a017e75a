#pragma once
// Test helpers: child processes started and stopped by PID, free loopback
// ports, temp directories, and waiting for a server to answer.

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace sbpipe::test {

// A child process. The destructor stops it (SIGTERM, then SIGKILL) by PID.
class Process {
public:
  Process(std::vector<std::string> argv, const std::filesystem::path& log_file,
          const std::map<std::string, std::string>& env = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  int pid() const { return m_pid; }
  void stop();
  // Waits for the process to end by itself; its exit status (128 + signal
  // when killed), or -1 when it still runs after timeout_ms.
  int wait_exit(int timeout_ms);

private:
  int m_pid = -1;
};

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs a command to completion, capturing stdout and stderr.
// `on_start` receives the child's PID as soon as it exists (tests that kill
// it at a chosen moment).
RunResult run(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {}, int timeout_seconds = 300,
              const std::function<void(int)>& on_start = {});

// A TCP port on 127.0.0.1 that was free a moment ago.
int free_port();

// Waits until a TCP connect to 127.0.0.1:port succeeds (or throws).
void wait_for_port(int port, int timeout_ms = 10000);

class TempDir {
public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return m_path; }
  std::filesystem::path operator/(const std::string& name) const { return m_path / name; }

private:
  std::filesystem::path m_path;
};

std::string read_file(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, const std::string& data);
// Path of the sbpipe binary under test: env SBPIPE_TEST_BINARY (CI points the integration suites
// at the sanitizer build's binary), else the binary of this build tree.
std::string sbpipe_binary();
// Whether that binary is built with AddressSanitizer (it then runs slower and keeps freed memory
// in quarantine: timing and memory bounds are loosened for it).
bool sanitized_binary();
// The source tree, and its tests/support folder (helper scripts the tests run).
std::string source_dir();
std::string test_support_dir();

}  // namespace sbpipe::test

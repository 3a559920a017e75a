#include "pipeline/run_state.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/file.h"

namespace sbpipe {
namespace {

const nlohmann::json& null_json() {
  static const nlohmann::json value;
  return value;
}

}  // namespace

bool RunState::recorded(const std::filesystem::path& root, const std::string& version, const std::string& step) {
  if (version.empty() || version.find('/') != std::string::npos || version == "." || version == "..") return false;
  auto text = read_small_file(root / version / "journal.json", 16 << 20);
  if (!text) return false;
  auto parsed = nlohmann::json::parse(*text, nullptr, false);
  return parsed.is_object() && parsed.contains("steps") && parsed["steps"].is_object() && parsed["steps"].contains(step);
}

Result<RunState> RunState::open(const std::filesystem::path& root, const std::string& version, bool wait) {
  if (version.empty() || version.find('/') != std::string::npos || version == "." || version == "..")
    return fail(ErrorKind::usage, "version '" + version + "' cannot name a state directory");
  auto dir = root / version;
  // Private when made here; a directory that exists keeps its mode.
  if (auto st = create_private_directories(dir); !st) return fail(st.error());
  auto lock_path = dir / "lock";
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return fail(ErrorKind::io, lock_path.string() + ": " + std::strerror(errno));
  if (::flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    std::string holder;
    char buf[32] = {};
    if (::pread(fd, buf, sizeof buf - 1, 0) > 0) holder = buf;
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\0')) holder.pop_back();
    ::close(fd);
    if (err == EWOULDBLOCK)
      return fail(ErrorKind::conflict, "version " + version + " is being run by another process" +
                                           (holder.empty() ? "" : " (pid " + holder + ")") + "; lock " + lock_path.string());
    return fail(ErrorKind::io, lock_path.string() + ": " + std::strerror(err));
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    ::close(fd);
    return fail(ErrorKind::io, lock_path.string() + ": cannot write");
  }
  nlohmann::json journal = {{"version", version}, {"steps", nlohmann::json::object()}};
  auto text = read_small_file(dir / "journal.json", 16 << 20);
  if (text) {
    auto parsed = nlohmann::json::parse(*text, nullptr, false);
    if (!parsed.is_object() || !parsed.contains("steps") || !parsed["steps"].is_object()) {
      ::close(fd);
      return fail(ErrorKind::invalid_input, (dir / "journal.json").string() + ": damaged (not a journal)");
    }
    journal = std::move(parsed);
  } else if (text.error().kind() != ErrorKind::not_found) {
    ::close(fd);
    return fail(text.error());
  }
  return RunState(dir, fd, std::move(journal));
}

RunState::RunState(RunState&& other) noexcept
    : m_dir(std::move(other.m_dir)), m_lock_fd(other.m_lock_fd), m_journal(std::move(other.m_journal)) {
  other.m_lock_fd = -1;
}

RunState::~RunState() {
  if (m_lock_fd >= 0) ::close(m_lock_fd);  // closing releases the flock
}

bool RunState::done(const std::string& step) const { return m_journal["steps"].contains(step); }

const nlohmann::json& RunState::output(const std::string& step) const {
  const auto& steps = m_journal["steps"];
  auto it = steps.find(step);
  return it == steps.end() ? null_json() : *it;
}

std::string step_key(RunStep step, std::string_view invocation) {
  switch (step) {
  case RunStep::plan: return "plan";
  case RunStep::release: return "release";
  case RunStep::imager: return "imager:" + std::string(invocation);
  case RunStep::verify: return "verify";
  case RunStep::push_installer: return "push-installer";
  case RunStep::upload_assets: return "upload-assets";
  case RunStep::finalize: return "finalize";
  }
  return "plan";
}

Result<std::optional<std::string>> RunState::optional_text_field(const std::string& step, const std::string& field) const {
  const std::string where = journal_path().string() + ": step " + step;
  if (!done(step)) return fail(ErrorKind::invalid_input, where + " is not done");
  const auto& out = output(step);
  if (!out.is_object()) return fail(ErrorKind::invalid_input, where + " has no fields (not a JSON object)");
  auto it = out.find(field);
  if (it == out.end()) return std::optional<std::string>();
  if (!it->is_string()) return fail(ErrorKind::invalid_input, where + ": " + field + " is not a string");
  return std::optional<std::string>(it->get<std::string>());
}

Result<std::string> RunState::text_field(const std::string& step, const std::string& field) const {
  auto value = optional_text_field(step, field);
  if (!value) return fail(value.error());
  if (!*value) return fail(ErrorKind::invalid_input, journal_path().string() + ": step " + step + " has no " + field);
  return **value;
}

Status RunState::record(const std::string& step, nlohmann::json output) {
  m_journal["steps"][step] = std::move(output);
  return write_file_atomically(m_dir / "journal.json", m_journal.dump(2) + "\n", 0600);
}

Status RunState::reset() {
  m_journal["steps"] = nlohmann::json::object();
  return write_file_atomically(m_dir / "journal.json", m_journal.dump(2) + "\n", 0600);
}

}  // namespace sbpipe

#pragma once
// The state of one version's pipeline run on this machine (`sbpipe run`):
// STATE/<version>/ holds a lock file (one run per version at a time) and
// journal.json, the finished steps with their outputs (digests, asset
// reports). A re-run skips what the journal says is done; the journal is
// rewritten atomically after each step, so a crash loses at most the step
// that was running, which is idempotent and runs again.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace sbpipe {

// The journal's steps, in the order a run makes them.
enum class RunStep { plan, release, imager, verify, push_installer, upload_assets, finalize };
// The step's name in the journal: "plan", "release", "imager:<invocation>",
// "verify", "push-installer", "upload-assets", "finalize".
std::string step_key(RunStep step, std::string_view invocation = {});

class RunState {
public:
  // Creates STATE/<version>/ and takes its lock. With wait=false a lock held
  // by another process is a conflict error naming that process; with
  // wait=true it waits for it. invalid_input for a damaged journal.
  static Result<RunState> open(const std::filesystem::path& root, const std::string& version, bool wait);
  // Whether the journal of `version` under `root` records `step` as done,
  // read without the lock (a look before the run, e.g. its preflight);
  // false when there is no journal or it cannot be read.
  static bool recorded(const std::filesystem::path& root, const std::string& version, const std::string& step);
  RunState(RunState&& other) noexcept;
  RunState& operator=(RunState&&) = delete;
  RunState(const RunState&) = delete;
  ~RunState();  // releases the lock

  bool done(const std::string& step) const;
  // The recorded output of a finished step; null when not done.
  const nlohmann::json& output(const std::string& step) const;
  // A string field of a finished step's output. invalid_input naming the
  // journal, the step and the field when the step is not done or the field
  // is missing or not a string (a journal edited by hand or damaged).
  Result<std::string> text_field(const std::string& step, const std::string& field) const;
  // The same for an optional field: nullopt when absent.
  Result<std::optional<std::string>> optional_text_field(const std::string& step, const std::string& field) const;
  // "<dir>/journal.json", the subject of the journal's messages.
  std::filesystem::path journal_path() const { return m_dir / "journal.json"; }

  // Marks `step` done with its output and writes the journal (fsynced).
  Status record(const std::string& step, nlohmann::json output);

  // Forgets every finished step (`run --restart`) and writes the journal.
  Status reset();
  const nlohmann::json& journal() const { return m_journal; }
  const std::filesystem::path& dir() const { return m_dir; }

private:
  RunState(std::filesystem::path dir, int lock_fd, nlohmann::json journal)
      : m_dir(std::move(dir)), m_lock_fd(lock_fd), m_journal(std::move(journal)) {}
  std::filesystem::path m_dir;
  int m_lock_fd = -1;
  nlohmann::json m_journal;
};

}  // namespace sbpipe

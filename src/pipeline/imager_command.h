#pragma once
// imager's command line for `sbpipe run`: the run.imager_command template
// (words with {keys} {out} {image} in them, and a word {args}) filled in for
// one invocation of the plan.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "pipeline/run_config.h"
#include "plan/plan.h"

namespace sbpipe {

// Splits a command line into words (whitespace; '...' and "..." quote).
// config error for an unterminated quote.
Result<std::vector<std::string>> split_command(std::string_view text);

// config error naming `label` and `key` for a placeholder other than
// {keys} {out} {image} {args}, or a template without the word {args}.
Status check_imager_command(const std::vector<std::string>& words, std::string_view label, std::string_view key);

struct ImagerSlots {
  std::string keys;
  std::string out;
  std::string image;
  std::vector<std::string> args;
};
// The argv for one imager invocation. config error as check_imager_command.
Result<std::vector<std::string>> expand_imager_command(const std::vector<std::string>& command, const ImagerSlots& slots);

// imager's argv for `inv` writing into `out`: only SecureBoot outputs get
// the keys directory; the others get `no_keys`, an empty directory, in its
// place. imager's --output is run.imager_output.
Result<std::vector<std::string>> imager_argv(const RunSettings& settings, const ImagerInvocation& inv,
                                             const std::filesystem::path& out, const std::filesystem::path& no_keys);

}  // namespace sbpipe

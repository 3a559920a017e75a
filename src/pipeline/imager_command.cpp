#include "pipeline/imager_command.h"

#include "core/config_file.h"

namespace sbpipe {
namespace fs = std::filesystem;

namespace {

std::string substitute(std::string word, const ImagerSlots& slots) {
  for (const auto& [name, value] : {std::pair<std::string_view, const std::string*>{"{keys}", &slots.keys},
                                    {"{out}", &slots.out},
                                    {"{image}", &slots.image}}) {
    for (size_t at = word.find(name); at != std::string::npos; at = word.find(name, at + value->size()))
      word.replace(at, name.size(), *value);
  }
  return word;
}

}  // namespace

Status check_imager_command(const std::vector<std::string>& words, std::string_view label, std::string_view key) {
  bool has_args = false;
  for (const auto& w : words) {
    if (w == "{args}") {
      has_args = true;
      continue;
    }
    for (size_t open = w.find('{'); open != std::string::npos; open = w.find('{', open + 1)) {
      auto close = w.find('}', open);
      std::string name = close == std::string::npos ? w.substr(open) : w.substr(open, close - open + 1);
      if (name != "{keys}" && name != "{out}" && name != "{image}")
        return config_error(label, std::string(key) + ": unknown placeholder " + name +
                                       " (known: {keys} {out} {image}, and {args} as a word of its own)");
    }
  }
  if (!has_args) return config_error(label, std::string(key) + ": needs the word {args}, where imager's arguments go");
  return {};
}

Result<std::vector<std::string>> split_command(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (char c : text) {
    if (quote) {
      if (c == quote)
        quote = 0;
      else
        word += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quote) return fail(ErrorKind::config, "unterminated quote in command '" + std::string(text) + "'");
  if (in_word) words.push_back(std::move(word));
  return words;
}

Result<std::vector<std::string>> expand_imager_command(const std::vector<std::string>& command, const ImagerSlots& slots) {
  if (auto st = check_imager_command(command, "run.imager_command", "imager_command"); !st) return fail(st.error());
  std::vector<std::string> argv;
  for (const auto& word : command) {
    if (word == "{args}")
      argv.insert(argv.end(), slots.args.begin(), slots.args.end());
    else
      argv.push_back(substitute(word, slots));
  }
  return argv;
}

Result<std::vector<std::string>> imager_argv(const RunSettings& settings, const ImagerInvocation& inv, const fs::path& out,
                                             const fs::path& no_keys) {
  ImagerSlots slots{fs::absolute(inv.secureboot ? fs::path(settings.keys_dir) : no_keys).string(), fs::absolute(out).string(),
                    inv.image, inv.args};
  for (size_t i = 0; i + 1 < slots.args.size(); ++i)
    if (slots.args[i] == "--output") slots.args[i + 1] = substitute(settings.imager_output, slots);
  return expand_imager_command(settings.imager_command, slots);
}

}  // namespace sbpipe

#pragma once
// A config for `sbpipe serve --executor local` that passes its start
// checks (the owner's keys, a dir: target, a writable state directory) and
// whose runs use `imager_command` (YAML, a list): for the tests of the
// service itself, whose runs' outcome is not what they test.

#include <filesystem>
#include <string>

#include "support/process.h"
#include "support/talos_model.h"

namespace sbpipe::test {

// Writes DIR/keys/ and DIR/service.yaml (state DIR/state, target dir:DIR/pub); returns the config's path.
inline std::filesystem::path write_service_config(const std::filesystem::path& dir,
                                                  const std::string& imager_command = "[false, '{args}']") {
  make_owner_keys(dir / "keys");
  auto config = dir / "service.yaml";
  write_file(config, "run:\n  keys_dir: " + (dir / "keys").string() + "\n  state_dir: " + (dir / "state").string() +
                         "\n  target: dir:" + (dir / "pub").string() + "\n  imager_command: " + imager_command +
                         "\n  imager_output: '{out}'\n");
  return config;
}

}  // namespace sbpipe::test

#pragma once
// What a plan publishes, as files: the one call `run` and the one-step
// commands (`upload-assets`, `push-installer`, `verify --plan PLAN --out
// DIR`: the Argo template's steps) share, so both publish the same set.

#include <filesystem>
#include <string>
#include <vector>

#include "plan/plan.h"
#include "release/assets.h"

namespace sbpipe {

// The release assets of `plan` with imager's outputs in `out_dir`, in the
// plan's order: each imager output under its asset name (described, not
// read), each iPXE script rendered from the plan and the published cmdline
// file. The listings (Generator::checksums) are not among them:
// publish_release writes them over the whole release, last. not_found
// naming the file for a missing output; invalid_input for a cmdline an iPXE
// script cannot carry or a generated asset whose inputs the plan lacks.
Result<std::vector<LocalAsset>> release_files(const Plan& plan, const std::filesystem::path& out_dir);

// The paths in `out_dir` of the installer inputs (one per architecture) and
// of the files the gate checks.
std::vector<std::string> installer_inputs(const Plan& plan, const std::filesystem::path& out_dir);
std::vector<std::string> gate_inputs(const Plan& plan, const std::filesystem::path& out_dir);

}  // namespace sbpipe

#pragma once
// What `sbpipe run` prints for people (never inside log lines): the
// preflight table and the step list with timings, aligned with fmt.

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "pipeline/preflight.h"
#include "pipeline/runner.h"

namespace sbpipe {

// "CHECK  RESULT  DETAIL" and one row per check, columns padded to the
// widest entry; ends in a newline.
std::string preflight_table(const std::vector<PreflightRow>& rows);
// [{"check","result","detail"}...] for --format json.
nlohmann::json preflight_json(const std::vector<PreflightRow>& rows);

// "STEP  RESULT  TOOK" and one row per step in the order they ended, the
// duration as "0.4s" / "2m05s"; ends in a newline.
std::string step_table(const std::vector<StepTime>& steps);

}  // namespace sbpipe

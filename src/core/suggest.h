#pragma once
// "Did you mean" for mistyped commands and flags, decided the way cobra
// (spf13/cobra command.go, SuggestionsFor) decides it: a candidate is offered
// when its Levenshtein distance to what was typed is at most 2, or when it
// starts with what was typed.

#include <string>
#include <string_view>
#include <vector>

namespace sbpipe {

// Levenshtein distance between a and b (insert, delete, substitute cost 1).
size_t edit_distance(std::string_view a, std::string_view b);

// The candidates close to `typed`, in the order given.
std::vector<std::string> suggestions_for(std::string_view typed, const std::vector<std::string>& candidates);

}  // namespace sbpipe

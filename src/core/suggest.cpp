#include "core/suggest.h"

#include <algorithm>
#include <numeric>

namespace sbpipe {

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), size_t{0});
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::vector<std::string> suggestions_for(std::string_view typed, const std::vector<std::string>& candidates) {
  constexpr size_t k_max_distance = 2;
  std::vector<std::string> out;
  if (typed.empty()) return out;
  for (const auto& candidate : candidates) {
    if (candidate == typed) continue;
    if (edit_distance(typed, candidate) <= k_max_distance || candidate.starts_with(typed)) out.push_back(candidate);
  }
  return out;
}

}  // namespace sbpipe

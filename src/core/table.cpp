#include "core/table.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/escape.h"

namespace sbpipe {

Table::Table(std::vector<std::string> headers) : m_headers(std::move(headers)) {
  for (auto& cell : m_headers) cell = escape_controls(cell);
}

void Table::add_row(std::vector<std::string> cells) {
  // Cells often hold names from outside (archive members, registry
  // messages): no control sequence reaches the terminal (issue 30).
  for (auto& cell : cells) cell = escape_controls(cell);
  m_rows.push_back(std::move(cells));
}

void Table::set_min_width(size_t column, size_t width) {
  if (m_min_widths.size() <= column) m_min_widths.resize(column + 1, 0);
  m_min_widths[column] = width;
}

std::string Table::render(const std::string& indent) const {
  size_t columns = m_headers.size();
  for (const auto& row : m_rows) columns = std::max(columns, row.size());
  std::vector<size_t> widths(columns, 0);
  for (size_t c = 0; c < columns && c < m_min_widths.size(); ++c) widths[c] = m_min_widths[c];
  auto measure = [&widths](const std::vector<std::string>& row) {
    // A row's last cell is never padded, so it does not widen its column.
    for (size_t c = 0; c + 1 < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  };
  measure(m_headers);
  for (const auto& row : m_rows) measure(row);

  std::string out;
  auto line = [&](const std::vector<std::string>& row) {
    std::string text = indent;
    for (size_t c = 0; c < row.size(); ++c) {
      const std::string& cell = row[c];
      if (c + 1 == row.size())
        text += cell;
      else
        text += fmt::format("{:<{}}  ", cell, widths[c]);
    }
    while (text.size() > indent.size() && text.back() == ' ') text.pop_back();
    out += text + "\n";
  };
  if (!m_headers.empty()) line(m_headers);
  for (const auto& row : m_rows) line(row);
  return out;
}

}  // namespace sbpipe

#pragma once
// Text tables for people: columns left-aligned to their widest cell, two
// spaces apart, the last column unpadded (no trailing blanks). Every table
// sbpipe prints (keys check, upload-assets, verify, run's summary, help's
// global flags) is rendered here, on stdout, never inside a log line.
// Cells are escaped as core/escape.h says (controls, C1, bytes that are not
// UTF-8), since many hold names that came from outside.

#include <string>
#include <vector>

namespace sbpipe {

class Table {
public:
  // `headers` may be empty (a table without a header line); otherwise its
  // size is the number of columns.
  explicit Table(std::vector<std::string> headers = {});

  // A row may have fewer cells than others: its last cell is written
  // unpadded and does not widen its column (a long value such as a URL
  // ends a short row without pushing the other rows' columns apart).
  void add_row(std::vector<std::string> cells);

  // Each column at least `width` wide (a fixed column, such as a result
  // word that should line up across tables).
  void set_min_width(size_t column, size_t width);

  // The lines, each ending in "\n", each prefixed with `indent`; "" when the
  // table has neither header nor rows. Widths count bytes (UTF-8 text with
  // multi-byte characters is padded as if it were wider).
  std::string render(const std::string& indent = "") const;

  bool empty() const { return m_rows.empty(); }

private:
  std::vector<std::string> m_headers;
  std::vector<std::vector<std::string>> m_rows;
  std::vector<size_t> m_min_widths;
};

}  // namespace sbpipe

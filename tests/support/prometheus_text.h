#pragma once
// A strict reader of the Prometheus text exposition format 0.0.4
// (prometheus.io/docs/instrumenting/exposition_formats, "Text format
// details"), for tests that scrape /metrics: every sample belongs to a
// family declared by a # TYPE line before it (histogram samples by their
// _bucket/_sum/_count suffix), a family is declared once, and each value
// is a number. Problems are collected, not thrown.

#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace sbpipe::test {

struct PrometheusText {
  std::map<std::string, double> samples;     // "name{labels}" as written → value
  std::map<std::string, std::string> types;  // family → counter, gauge, histogram, ...
  std::vector<std::string> problems;         // empty when the text is well-formed

  bool has(const std::string& series) const { return samples.count(series) != 0; }
  double value(const std::string& series) const {
    auto it = samples.find(series);
    return it == samples.end() ? -1 : it->second;
  }
};

inline PrometheusText parse_prometheus_text(const std::string& text) {
  PrometheusText out;
  std::istringstream lines(text);
  std::set<std::string> helped;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    if (line.starts_with("# HELP ")) {
      std::string family = line.substr(7, line.find(' ', 7) - 7);
      if (!helped.insert(family).second) out.problems.push_back("HELP twice for " + family);
      continue;
    }
    if (line.starts_with("# TYPE ")) {
      std::istringstream words(line.substr(7));
      std::string family;
      std::string type;
      words >> family >> type;
      if (out.types.count(family) != 0) out.problems.push_back("TYPE twice for " + family);
      out.types[family] = type;
      continue;
    }
    if (line.starts_with("#")) continue;
    auto space = line.rfind(' ');
    if (space == std::string::npos) {
      out.problems.push_back("no value: " + line);
      continue;
    }
    std::string series = line.substr(0, space);
    std::string value = line.substr(space + 1);
    std::string name = series.substr(0, series.find('{'));
    std::string family = name;
    for (const char* suffix : {"_bucket", "_sum", "_count"})
      if (out.types.count(name) == 0 && name.ends_with(suffix)) family = name.substr(0, name.size() - std::string(suffix).size());
    if (out.types.count(family) == 0) out.problems.push_back("sample before its # TYPE: " + line);
    char* end = nullptr;
    double number = std::strtod(value.c_str(), &end);
    if (value != "+Inf" && (end == value.c_str() || *end != '\0')) out.problems.push_back("not a number: " + line);
    out.samples[series] = number;
  }
  return out;
}

}  // namespace sbpipe::test

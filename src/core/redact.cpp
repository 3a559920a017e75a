#include "core/redact.h"

#include <algorithm>
#include <mutex>
#include <regex>
#include <vector>

namespace sbpipe {
namespace {

std::mutex g_mutex;
std::vector<std::string>& secrets() {
  static std::vector<std::string> s;
  return s;
}

void replace_all(std::string& text, std::string_view needle) {
  for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 3))
    text.replace(pos, needle.size(), "***");
}

}  // namespace

void register_secret(std::string_view secret) {
  if (secret.size() < 4) return;
  std::lock_guard lock(g_mutex);
  auto& list = secrets();
  if (std::find(list.begin(), list.end(), secret) == list.end()) list.emplace_back(secret);
  // Longest first, so a secret that contains another is masked whole.
  std::sort(list.begin(), list.end(), [](auto& a, auto& b) { return a.size() > b.size(); });
}

std::string redact(std::string_view text) {
  std::string out(text);
  {
    std::lock_guard lock(g_mutex);
    for (const auto& secret : secrets()) replace_all(out, secret);
  }
  static const std::regex k_userinfo(R"(([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@)");
  static const std::regex k_auth_header(R"(((?:Authorization|authorization):\s*(?:Basic|Bearer|token)\s+)\S+)");
  // Each pattern needs a literal ("://", "uthorization"): most lines hold
  // neither, and std::regex costs more than the rest of a log line.
  if (out.find("://") != std::string::npos) out = std::regex_replace(out, k_userinfo, "$1***@");
  if (out.find("uthorization") != std::string::npos) out = std::regex_replace(out, k_auth_header, "$1***");
  return out;
}

void TEST_clear_secrets() {
  std::lock_guard lock(g_mutex);
  secrets().clear();
}

}  // namespace sbpipe

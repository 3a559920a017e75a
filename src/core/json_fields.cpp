#include "core/json_fields.h"

namespace sbpipe {
using json = nlohmann::json;

Status JsonFields::require_object() const {
  if (!m_object.is_object()) return problem(m_path, "is not an object");
  return {};
}

std::string JsonFields::at(std::string_view key) const {
  return m_path.empty() ? std::string(key) : m_path + "." + std::string(key);
}

std::unexpected<Error> JsonFields::problem(const std::string& where, const std::string& what) const {
  return fail(ErrorKind::invalid_input, std::string(m_label) + ": " + (where.empty() ? "the document" : where) + " " + what);
}

Result<const json*> JsonFields::find(const char* key) const {
  auto it = m_object.find(key);
  if (it == m_object.end()) return problem(at(key), "is missing");
  return &*it;
}

Result<std::string> JsonFields::text(const char* key) const {
  auto v = optional_text(key);
  if (!v) return fail(v.error());
  if (!*v) return problem(at(key), "is missing");
  return **v;
}

Result<bool> JsonFields::boolean(const char* key) const {
  auto v = optional_boolean(key);
  if (!v) return fail(v.error());
  if (!*v) return problem(at(key), "is missing");
  return **v;
}

Result<int64_t> JsonFields::integer(const char* key) const {
  auto v = optional_integer(key);
  if (!v) return fail(v.error());
  if (!*v) return problem(at(key), "is missing");
  return **v;
}

Result<std::optional<std::string>> JsonFields::optional_text(const char* key) const {
  auto it = m_object.find(key);
  if (it == m_object.end()) return std::optional<std::string>();
  if (!it->is_string()) return problem(at(key), "is not a string");
  return std::optional<std::string>(it->get<std::string>());
}

Result<std::optional<bool>> JsonFields::optional_boolean(const char* key) const {
  auto it = m_object.find(key);
  if (it == m_object.end()) return std::optional<bool>();
  if (!it->is_boolean()) return problem(at(key), "is not true or false");
  return std::optional<bool>(it->get<bool>());
}

Result<std::optional<int64_t>> JsonFields::optional_integer(const char* key) const {
  auto it = m_object.find(key);
  if (it == m_object.end()) return std::optional<int64_t>();
  // A whole number that fits: JSON's 1e3 or 2.5, or one past int64, is not an integer here.
  if (!it->is_number_integer()) return problem(at(key), "is not a whole number");
  if (it->is_number_unsigned() && it->get<uint64_t>() > uint64_t(INT64_MAX)) return problem(at(key), "is too large");
  return std::optional<int64_t>(it->get<int64_t>());
}

Result<std::vector<std::string>> JsonFields::texts(const char* key) const {
  auto v = list(key);
  if (!v) return fail(v.error());
  std::vector<std::string> out;
  for (const auto& item : **v) {
    if (!item.is_string()) return problem(at(key), "holds something other than text");
    out.push_back(item.get<std::string>());
  }
  return out;
}

Result<const json*> JsonFields::list(const char* key) const {
  auto v = find(key);
  if (!v) return fail(v.error());
  if (!(*v)->is_array()) return problem(at(key), "is not a list");
  return *v;
}

Result<const json*> JsonFields::object(const char* key) const {
  auto v = find(key);
  if (!v) return fail(v.error());
  if (!(*v)->is_object()) return problem(at(key), "is not an object");
  return *v;
}

}  // namespace sbpipe

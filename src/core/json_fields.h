#pragma once
// Typed reads of a JSON object's fields, each failure naming the file (or
// other label), the field's path and what is wrong, for durable state and
// plans read back from disk: "journal.json: steps.push-installer.ref is not
// a string". The object must outlive the reader.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace sbpipe {

class JsonFields {
public:
  // `path` names the object inside its document ("" for the top level);
  // `label` the document. Errors are invalid_input.
  JsonFields(const nlohmann::json& object, std::string path, std::string_view label)
      : m_object(object), m_path(std::move(path)), m_label(label) {}

  // Fails unless the value is a JSON object; call it before the fields.
  Status require_object() const;

  // A field that must be present with that type.
  Result<std::string> text(const char* key) const;
  Result<bool> boolean(const char* key) const;
  Result<int64_t> integer(const char* key) const;
  Result<std::vector<std::string>> texts(const char* key) const;
  Result<const nlohmann::json*> list(const char* key) const;
  Result<const nlohmann::json*> object(const char* key) const;

  // The same for a field that may be absent (nullopt), but not of another type.
  Result<std::optional<std::string>> optional_text(const char* key) const;
  Result<std::optional<bool>> optional_boolean(const char* key) const;
  Result<std::optional<int64_t>> optional_integer(const char* key) const;

  // "path.key", the field's name in messages.
  std::string at(std::string_view key) const;
  // invalid_input "LABEL: WHERE WHAT" ("the document" when `where` is empty).
  std::unexpected<Error> problem(const std::string& where, const std::string& what) const;

private:
  Result<const nlohmann::json*> find(const char* key) const;

  const nlohmann::json& m_object;
  std::string m_path;
  std::string_view m_label;
};

}  // namespace sbpipe

#include "core/error.h"

namespace sbpipe {

Error Error::with_context(std::string_view context) const {
  std::string message(context);
  message += ": ";
  message += m_message;
  return Error(m_kind, std::move(message));
}

int Error::exit_code() const {
  return (m_kind == ErrorKind::usage || m_kind == ErrorKind::config) ? 2 : 1;
}

} // namespace sbpipe

#include "core/error.h"

namespace sbpipe {

Error Error::with_context(std::string_view context) const {
  std::string message(context);
  message += ": ";
  message += m_message;
  Error copy(m_kind, std::move(message));
  copy.m_retry_after = m_retry_after;
  return copy;
}

int Error::exit_code() const { return (m_kind == ErrorKind::usage || m_kind == ErrorKind::config) ? 2 : 1; }

}  // namespace sbpipe

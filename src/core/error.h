#pragma once
// The one error type of sbpipe. Recoverable failures travel as Result<T>;
// exceptions are reserved for programming errors and are caught once in main.

#include <chrono>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

namespace sbpipe {

enum class ErrorKind {
  usage,          // bad flags or arguments: exit 2
  config,         // bad configuration (files, credentials set-up): exit 2
  invalid_input,  // the input artifact is malformed or inconsistent: exit 1
  not_found,      // a remote object or local file does not exist
  auth,           // credentials refused or missing
  timeout,        // a deadline passed (retryable)
  transient,      // connection error, 408/429/5xx (retryable)
  permanent,      // the remote refused for good (4xx other than the above)
  conflict,       // the remote object already exists (409, GitHub's 422 already_exists)
  io,             // local file system error
};

class Error {
public:
  Error(ErrorKind kind, std::string message) : m_kind(kind), m_message(std::move(message)) {}

  ErrorKind kind() const { return m_kind; }
  const std::string& message() const { return m_message; }

  // True for failures that the same request may not meet again.
  bool retryable() const { return m_kind == ErrorKind::transient || m_kind == ErrorKind::timeout; }

  // Returns a copy whose message reads "<context>: <message>".
  Error with_context(std::string_view context) const;

  // How long the remote asked us to wait (Retry-After), when it did.
  std::optional<std::chrono::milliseconds> retry_after() const { return m_retry_after; }
  Error& set_retry_after(std::chrono::milliseconds wait) {
    m_retry_after = wait;
    return *this;
  }

  // Process exit status for this error: 2 for usage/config, else 1.
  int exit_code() const;

private:
  ErrorKind m_kind;
  std::string m_message;
  std::optional<std::chrono::milliseconds> m_retry_after;
};

template <class T>
using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

inline std::unexpected<Error> fail(ErrorKind kind, std::string message) {
  return std::unexpected<Error>(Error(kind, std::move(message)));
}

inline std::unexpected<Error> fail(Error error) { return std::unexpected<Error>(std::move(error)); }

}  // namespace sbpipe

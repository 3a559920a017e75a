#pragma once
// The real CNCF distribution registry (Debian's docker-registry), started on
// 127.0.0.1 with a free port and a temporary storage directory.

#include <memory>
#include <string>

#include "support/process.h"

namespace sbpipe::test {

struct RegistryConfig {
  bool relative_urls = false;
  std::string htpasswd_file;  // Basic auth when set
  std::string silly_realm;    // Bearer ("silly") auth when set
  // HTTPS with this certificate and key (PEM) when set: distribution's
  // http.tls.certificate / http.tls.key (docs/about/configuration.md, "tls").
  std::string tls_cert_file;
  std::string tls_key_file;
};

class LocalRegistry {
public:
  explicit LocalRegistry(RegistryConfig config = {});
  int port() const { return m_port; }
  std::string host() const { return "127.0.0.1:" + std::to_string(m_port); }
  std::filesystem::path storage() const { return m_dir / "data"; }

private:
  TempDir m_tmp;
  std::filesystem::path m_dir;
  int m_port;
  std::unique_ptr<Process> m_process;
};

}  // namespace sbpipe::test

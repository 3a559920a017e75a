#include "support/registry_server.h"

#include <sstream>

namespace sbpipe::test {

LocalRegistry::LocalRegistry(RegistryConfig config) : m_dir(m_tmp.path()), m_port(free_port()) {
  std::ostringstream yml;
  yml << "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n"
      << "storage:\n  filesystem:\n    rootdirectory: " << storage().string() << "\n  delete:\n    enabled: true\n"
      << "http:\n  addr: 127.0.0.1:" << m_port << "\n  secret: sbpipe-test-secret\n"
      << "  relativeurls: " << (config.relative_urls ? "true" : "false") << "\n";
  if (!config.tls_cert_file.empty())
    yml << "  tls:\n    certificate: " << config.tls_cert_file << "\n    key: " << config.tls_key_file << "\n";
  if (!config.htpasswd_file.empty())
    yml << "auth:\n  htpasswd:\n    realm: sbpipe-test\n    path: " << config.htpasswd_file << "\n";
  else if (!config.silly_realm.empty())
    yml << "auth:\n  silly:\n    realm: " << config.silly_realm << "\n    service: sbpipe-test-registry\n";
  write_file(m_dir / "config.yml", yml.str());
  m_process = std::make_unique<Process>(std::vector<std::string>{"docker-registry", "serve", (m_dir / "config.yml").string()},
                                        m_dir / "registry.log");
  wait_for_port(m_port);
}

}  // namespace sbpipe::test

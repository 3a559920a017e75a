#pragma once
// A hostile OCI registry for the credential and half-publish tests (issue
// 19: F4, F11, F17), on two loopback listeners: the registry itself and
// "another host" (a second port, addressed as localhost:PORT so that host
// and port both differ from the registry's 127.0.0.1:PORT).
//
// The happy path follows the OCI distribution spec v1.1
// (opencontainers/distribution-spec, spec.md: "Pushing blobs" POST
// /v2/<name>/blobs/uploads/ → 202 + Location, PUT <location>?digest= → 201;
// "Pushing Manifests" PUT /v2/<name>/manifests/<reference> → 201 with
// Docker-Content-Digest; HEAD of blobs and manifests 200/404), and Basic
// authorization as docker/distribution's htpasswd does (401 with
// `WWW-Authenticate: Basic realm=...` until the header matches).
// Modes turn it hostile:
// - leak:      upload Locations point at the other listener (which accepts
//              the PUT, as a storage backend would);
// - fail_tag:  PUT manifests/<fail_reference> answers 500, every time;
// - huge_body: GET /v2/ answers 500 with a 10 GiB body (streamed until the
//              client hangs up).
// Every request is recorded with the listener it reached and whether it
// carried an Authorization header (its value is compared, never stored).

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace sbpipe::test {

struct HostileRequest {
  std::string listener;  // "registry" or "other"
  std::string method;
  std::string path;
  bool authorization = false;      // any Authorization header
  bool right_credentials = false;  // the registry's Basic login
};

class HostileRegistry {
public:
  enum class Mode { normal, leak, fail_tag, huge_body };
  HostileRegistry(Mode mode, std::string username, std::string password, std::string fail_reference = "");
  ~HostileRegistry();
  HostileRegistry(const HostileRegistry&) = delete;
  HostileRegistry& operator=(const HostileRegistry&) = delete;

  int port() const;        // the registry, 127.0.0.1
  int other_port() const;  // "another host", localhost
  void set_mode(Mode mode);
  std::vector<HostileRequest> requests() const;
  // The tags (not digests) that manifests were stored under.
  std::vector<std::string> tags() const;

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace sbpipe::test

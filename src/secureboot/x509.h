#pragma once
// Certificates and public keys, as sbpipe reports them. Parsing only:
// nothing here reads a private key (see keys.h for the one place that does).

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace sbpipe {

struct CertificateInfo {
  std::string subject;  // one line, RFC 2253 order
  std::string issuer;
  std::chrono::system_clock::time_point not_before;
  std::chrono::system_clock::time_point not_after;
  std::string key_type;  // "RSA", "EC", ...
  int key_bits = 0;
  std::string der;
  std::string sha256;  // hex fingerprint of der
};

// Every certificate of a PEM text, in order. invalid_input (with `label`)
// when there is none or one is malformed.
Result<std::vector<CertificateInfo>> parse_pem_certificates(std::string_view pem, std::string_view label);

// True when both PEM texts hold the same public key (a bare public key or a
// certificate's). invalid_input when either does not parse.
Result<bool> same_public_key(std::string_view pem_a, std::string_view pem_b);

// The labels of the PEM blocks in `text`, in order: "CERTIFICATE",
// "RSA PRIVATE KEY" (PKCS#1), "PRIVATE KEY" (PKCS#8), ... Reads no block body.
std::vector<std::string> pem_labels(std::string_view text);

// True when a PEM block of `text` is a private key of any form.
bool holds_private_key(std::string_view text);

// "2027-01-31" for a time point (UTC).
std::string format_date(std::chrono::system_clock::time_point when);

}  // namespace sbpipe

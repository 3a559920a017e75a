#pragma once
// The owner's image and release signing key, in the forms cosign and Talos
// use: an ECDSA P-256 or RSA (2048 bits or more) key, signatures over
// SHA-256 (ECDSA as ASN.1 DER, RSA as PKCS#1 v1.5), which is what
// sigstore's LoadVerifier(key, crypto.SHA256) checks (sigstore/sigstore
// pkg/signature/verifier.go), and so what Talos's ImageVerificationConfig
// public-key rules (siderolabs/talos internal/pkg/containers/image/verify/
// verify.go) and containers/image's sigstoreSigned policy accept.
//
// SigningKey is the one type here that holds a private key; it never prints
// it. Both types are immutable after loading and safe to share between
// threads.

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "core/error.h"

namespace sbpipe {

enum class KeyAlgorithm { ecdsa_p256, rsa };

class PublicKey {
public:
  // A PEM "PUBLIC KEY" (SubjectPublicKeyInfo), "RSA PUBLIC KEY" (PKCS#1) or
  // "CERTIFICATE" (its key). invalid_input naming `label` when it is none of
  // these, holds a private key, or is a key other than EC P-256 or RSA >= 2048.
  static Result<PublicKey> parse_pem(std::string_view pem, std::string_view label);
  // A DER SubjectPublicKeyInfo (a trusted root's log key, a certificate's
  // key). invalid_input naming `label` as parse_pem.
  static Result<PublicKey> parse_der(std::string_view spki_der, std::string_view label);
  // Reads and parses a file; errors name `setting` (a flag or config key) and the path.
  static Result<PublicKey> load(const std::filesystem::path& path, std::string_view setting);

  KeyAlgorithm algorithm() const;
  // "ECDSA P-256" or "RSA-4096".
  std::string description() const;
  // The SubjectPublicKeyInfo as PEM ("-----BEGIN PUBLIC KEY-----"): what
  // ImageVerificationConfig's publicKey.certificate and cosign.pub hold.
  std::string pem() const;
  // SHA-256 of the DER SubjectPublicKeyInfo, lowercase hex.
  std::string fingerprint() const;
  // The same digest in base64: the key hint cosign writes into a bundle's
  // verificationMaterial.publicKey.hint.
  std::string hint() const;
  // true when `signature` is this key's signature over SHA-256(message).
  bool verify(std::string_view message, std::string_view signature) const;
  // The same, given SHA-256(message) (32 bytes) instead of the message.
  bool verify_digest(std::string_view sha256, std::string_view signature) const;

  struct Impl;
  explicit PublicKey(std::shared_ptr<const Impl> impl) : m_impl(std::move(impl)) {}

private:
  std::shared_ptr<const Impl> m_impl;
};

class SigningKey {
public:
  // A PEM private key: "EC PRIVATE KEY" (SEC 1), "RSA PRIVATE KEY" (PKCS#1)
  // or "PRIVATE KEY" (PKCS#8), unencrypted. Errors name `setting` and the
  // path, never the key: config when the file is missing, unreadable,
  // encrypted (cosign's "ENCRYPTED SIGSTORE PRIVATE KEY" included, with how
  // to proceed), or a key other than EC P-256 or RSA >= 2048.
  static Result<SigningKey> load(const std::filesystem::path& path, std::string_view setting);
  static Result<SigningKey> parse_pem(std::string_view pem, std::string_view label);

  const PublicKey& public_key() const { return m_public; }
  // The signature over SHA-256(message). io error only when OpenSSL fails.
  Result<std::string> sign(std::string_view message) const;
  // The same signature, given SHA-256(message) (32 bytes): for files
  // hashed as they stream.
  Result<std::string> sign_digest(std::string_view sha256) const;

  struct Impl;
  SigningKey(std::shared_ptr<const Impl> impl, PublicKey public_key) : m_impl(std::move(impl)), m_public(std::move(public_key)) {}

private:
  std::shared_ptr<const Impl> m_impl;
  PublicKey m_public;
};

}  // namespace sbpipe

#include "sigstore/keys.h"

#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "core/base64.h"
#include "core/file.h"
#include "core/openssl_util.h"
#include "core/sha256.h"

namespace sbpipe {

struct PublicKey::Impl {
  ossl::Ptr<EVP_PKEY> key;
  KeyAlgorithm algorithm = KeyAlgorithm::ecdsa_p256;
};

struct SigningKey::Impl {
  ossl::Ptr<EVP_PKEY> key;
};

namespace {

struct PemBlock {
  std::string label;
  std::string der;
  bool encrypted = false;  // RFC 1421 headers (Proc-Type: 4,ENCRYPTED)
};

// The first PEM block of `text`, read without interpreting it.
std::optional<PemBlock> first_block(std::string_view text) {
  auto bio = ossl::memory_bio(text);
  char* name = nullptr;
  char* header = nullptr;
  unsigned char* data = nullptr;
  long len = 0;
  if (PEM_read_bio(bio.get(), &name, &header, &data, &len) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  PemBlock block{name, std::string(reinterpret_cast<char*>(data), static_cast<size_t>(len)),
                 std::string_view(header).find("ENCRYPTED") != std::string_view::npos};
  OPENSSL_free(name);
  OPENSSL_free(header);
  OPENSSL_free(data);
  return block;
}

// The algorithm of a key sbpipe accepts, or why it refuses it.
Result<KeyAlgorithm> check_algorithm(EVP_PKEY* key, std::string_view label) {
  int id = EVP_PKEY_get_base_id(key);
  if (id == EVP_PKEY_EC) {
    char group[64] = {};
    size_t got = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &got) != 1) ERR_clear_error();
    if (std::string_view(group) == "prime256v1" || std::string_view(group) == "P-256") return KeyAlgorithm::ecdsa_p256;
    return fail(ErrorKind::invalid_input, std::string(label) + ": an EC key on curve " + (group[0] ? group : "(unknown)") +
                                              "; sbpipe signs with P-256 (cosign's default) or RSA");
  }
  if (id == EVP_PKEY_RSA) {
    if (EVP_PKEY_get_bits(key) < 2048)
      return fail(ErrorKind::invalid_input, std::string(label) + ": an RSA key of " + std::to_string(EVP_PKEY_get_bits(key)) +
                                                " bits; at least 2048 are needed");
    return KeyAlgorithm::rsa;
  }
  return fail(ErrorKind::invalid_input, std::string(label) + ": a key of type " + OBJ_nid2sn(id) +
                                            "; sbpipe signs with ECDSA P-256 (cosign's default) or RSA");
}

std::string spki_der(EVP_PKEY* key) {
  unsigned char* out = nullptr;
  int len = i2d_PUBKEY(key, &out);
  if (len <= 0) return {};
  std::string der(reinterpret_cast<char*>(out), static_cast<size_t>(len));
  OPENSSL_free(out);
  return der;
}

// A PublicKey holding `key`, when sbpipe accepts its algorithm.
Result<PublicKey> public_key_of(ossl::Ptr<EVP_PKEY> key, std::string_view label) {
  auto algorithm = check_algorithm(key.get(), label);
  if (!algorithm) return fail(algorithm.error());
  auto impl = std::make_shared<PublicKey::Impl>();
  impl->key = std::move(key);
  impl->algorithm = *algorithm;
  return PublicKey(std::move(impl));
}

// Refuses passphrases: sbpipe never prompts.
int no_passphrase(char*, int, int, void*) { return -1; }

}  // namespace

Result<PublicKey> PublicKey::parse_pem(std::string_view pem, std::string_view label) {
  auto block = first_block(pem);
  if (!block) return fail(ErrorKind::invalid_input, std::string(label) + ": no PEM public key or certificate");
  if (block->label.find("PRIVATE KEY") != std::string::npos)
    return fail(ErrorKind::invalid_input, std::string(label) + ": holds a private key; give the public key only");
  ossl::Ptr<EVP_PKEY> key;
  const auto* p = reinterpret_cast<const unsigned char*>(block->der.data());
  long len = static_cast<long>(block->der.size());
  if (block->label == "PUBLIC KEY") {
    key.reset(d2i_PUBKEY(nullptr, &p, len));
  } else if (block->label == "RSA PUBLIC KEY") {
    key.reset(d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, len));
  } else if (block->label == "CERTIFICATE") {
    ossl::Ptr<X509> cert(d2i_X509(nullptr, &p, len));
    if (cert) key.reset(X509_get_pubkey(cert.get()));
  } else {
    return fail(ErrorKind::invalid_input,
                std::string(label) + ": a PEM " + block->label + "; expected PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE");
  }
  if (!key)
    return fail(ErrorKind::invalid_input, std::string(label) + ": malformed " + block->label + " (" + ossl::take_error() + ")");
  return public_key_of(std::move(key), label);
}

Result<PublicKey> PublicKey::parse_der(std::string_view spki_der, std::string_view label) {
  const auto* p = reinterpret_cast<const unsigned char*>(spki_der.data());
  ossl::Ptr<EVP_PKEY> key(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki_der.size())));
  if (!key || p != reinterpret_cast<const unsigned char*>(spki_der.data()) + spki_der.size())
    return fail(ErrorKind::invalid_input, std::string(label) + ": not a DER public key (" + ossl::take_error() + ")");
  return public_key_of(std::move(key), label);
}

Result<PublicKey> PublicKey::load(const std::filesystem::path& path, std::string_view setting) {
  std::string label = std::string(setting) + " " + path.string();
  auto text = read_small_file(path);
  if (!text) return fail(ErrorKind::config, label + ": " + text.error().message());
  auto key = parse_pem(*text, label);
  if (!key) return fail(ErrorKind::config, key.error().message());
  return key;
}

KeyAlgorithm PublicKey::algorithm() const { return m_impl->algorithm; }

std::string PublicKey::description() const {
  if (m_impl->algorithm == KeyAlgorithm::ecdsa_p256) return "ECDSA P-256";
  return "RSA-" + std::to_string(EVP_PKEY_get_bits(m_impl->key.get()));
}

std::string PublicKey::pem() const {
  ossl::Ptr<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), m_impl->key.get());
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string PublicKey::fingerprint() const { return Sha256::hex_of(spki_der(m_impl->key.get())); }

std::string PublicKey::hint() const {
  std::string hex = fingerprint();
  std::string raw;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) raw.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return base64_encode(raw);
}

bool PublicKey::verify(std::string_view message, std::string_view signature) const {
  ossl::Ptr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  bool ok = EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, m_impl->key.get()) == 1 &&
            EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                             reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  ERR_clear_error();
  return ok;
}

bool PublicKey::verify_digest(std::string_view sha256, std::string_view signature) const {
  if (sha256.size() != 32) return false;
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new(m_impl->key.get(), nullptr),
                                                                  EVP_PKEY_CTX_free);
  bool ok = ctx && EVP_PKEY_verify_init(ctx.get()) == 1 && EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) == 1 &&
            (m_impl->algorithm != KeyAlgorithm::rsa || EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) == 1) &&
            EVP_PKEY_verify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                            reinterpret_cast<const unsigned char*>(sha256.data()), sha256.size()) == 1;
  ERR_clear_error();
  return ok;
}

Result<SigningKey> SigningKey::parse_pem(std::string_view pem, std::string_view label) {
  auto block = first_block(pem);
  if (!block) return fail(ErrorKind::config, std::string(label) + ": no PEM private key");
  if (block->label == "ENCRYPTED SIGSTORE PRIVATE KEY" || block->label == "ENCRYPTED COSIGN PRIVATE KEY")
    return fail(ErrorKind::config, std::string(label) +
                                       ": cosign's encrypted key format, which sbpipe does not read; export an unencrypted "
                                       "PEM key (e.g. `openssl ecparam -name prime256v1 -genkey -noout`, then "
                                       "`cosign import-key-pair` for cosign's own use) and keep it in the Secret");
  if (block->label == "ENCRYPTED PRIVATE KEY" || block->encrypted)
    return fail(ErrorKind::config, std::string(label) +
                                       ": the key is encrypted with a passphrase, which sbpipe never asks for; store it "
                                       "unencrypted in the Secret (e.g. `openssl pkey -in KEY -out KEY.pem`)");
  if (block->label != "EC PRIVATE KEY" && block->label != "RSA PRIVATE KEY" && block->label != "PRIVATE KEY")
    return fail(ErrorKind::config, std::string(label) + ": a PEM " + block->label +
                                       "; expected a private key (EC PRIVATE KEY, RSA PRIVATE KEY or PRIVATE KEY)");
  auto bio = ossl::memory_bio(pem);
  ossl::Ptr<EVP_PKEY> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  // OpenSSL's message may quote nothing of the key; still, say only that it failed.
  ERR_clear_error();
  if (!key) return fail(ErrorKind::config, std::string(label) + ": malformed " + block->label);
  auto algorithm = check_algorithm(key.get(), label);
  if (!algorithm) return fail(ErrorKind::config, algorithm.error().message());
  std::string der = spki_der(key.get());
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  auto pub_impl = std::make_shared<PublicKey::Impl>();
  pub_impl->key.reset(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  pub_impl->algorithm = *algorithm;
  if (!pub_impl->key) return fail(ErrorKind::config, std::string(label) + ": cannot derive the public key");
  auto impl = std::make_shared<Impl>();
  impl->key = std::move(key);
  return SigningKey(std::move(impl), PublicKey(std::move(pub_impl)));
}

Result<SigningKey> SigningKey::load(const std::filesystem::path& path, std::string_view setting) {
  std::string label = std::string(setting) + " " + path.string();
  auto text = read_small_file(path);
  if (!text) return fail(ErrorKind::config, label + ": " + text.error().message());
  return parse_pem(*text, label);
}

Result<std::string> SigningKey::sign(std::string_view message) const {
  ossl::Ptr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  size_t len = 0;
  if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, m_impl->key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1)
    return fail(ErrorKind::io, "signing failed: " + ossl::take_error());
  std::string signature(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1)
    return fail(ErrorKind::io, "signing failed: " + ossl::take_error());
  signature.resize(len);
  return signature;
}

Result<std::string> SigningKey::sign_digest(std::string_view sha256) const {
  if (sha256.size() != 32) return fail(ErrorKind::io, "signing failed: a SHA-256 digest has 32 bytes");
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new(m_impl->key.get(), nullptr),
                                                                  EVP_PKEY_CTX_free);
  size_t len = 0;
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 || EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) != 1 ||
      (m_public.algorithm() == KeyAlgorithm::rsa && EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1) ||
      EVP_PKEY_sign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(sha256.data()), sha256.size()) != 1)
    return fail(ErrorKind::io, "signing failed: " + ossl::take_error());
  std::string signature(len, '\0');
  if (EVP_PKEY_sign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len,
                    reinterpret_cast<const unsigned char*>(sha256.data()), sha256.size()) != 1)
    return fail(ErrorKind::io, "signing failed: " + ossl::take_error());
  signature.resize(len);
  return signature;
}

}  // namespace sbpipe

#include "secureboot/pcr_policy.h"

#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <nlohmann/json.hpp>

#include <algorithm>

#include "core/base64.h"
#include "core/hex.h"
#include "core/openssl_util.h"
#include "core/stream.h"

namespace sbpipe {
namespace {

constexpr size_t k_max_pcrsig = 1 << 20;
constexpr uint32_t k_tpm_cc_policy_pcr = 0x0000017F;
constexpr int k_uki_pcr = 11;

// The order systemd-stub measures sections in (systemd src/fundamental/
// uki.h, the UnifiedSection enum; Talos internal/pkg/measure/internal/pcr/
// sections.go writes the same list).
const std::vector<std::string> k_measured_sections{".linux", ".osrel", ".cmdline", ".initrd",  ".ucode",   ".splash", ".dtb",
                                                   ".uname", ".sbat",  ".pcrpkey", ".profile", ".dtbauto", ".hwids"};
const char* k_phases[] = {"enter-initrd", "leave-initrd", "enter-machined"};

const EVP_MD* md_of(const std::string& bank) {
  if (bank == "sha256") return EVP_sha256();
  if (bank == "sha384") return EVP_sha384();
  if (bank == "sha512") return EVP_sha512();
  return nullptr;
}

// TPM_ALG_ID of a bank (TPM 2.0 Library Part 2, table "TPM_ALG_ID").
uint16_t alg_id_of(const std::string& bank) { return bank == "sha256" ? 0x000B : bank == "sha384" ? 0x000C : 0x000D; }

std::string digest(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  return std::string(reinterpret_cast<const char*>(out), len);
}

// PCR extend: new = H(old || H(data)), where `measured` is already H(data).
std::string extend(const EVP_MD* md, const std::string& value, const std::string& measured) {
  return digest(md, value + measured);
}

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

ossl::Ptr<EVP_PKEY> rsa_public_key(const std::string& pem) {
  auto bio = ossl::memory_bio(pem);
  ossl::Ptr<EVP_PKEY> key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (key && EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) return nullptr;
  return key;
}

// RSA PKCS#1 v1.5 over H_bank(message), as Talos signs the policy
// (internal/pkg/measure/internal/pcr/sign.go) and the TPM checks it.
bool signature_verifies(EVP_PKEY* key, const std::string& bank, const std::string& message, const std::string& signature) {
  const EVP_MD* md = md_of(bank);
  std::string hashed = digest(md, message);
  struct CtxFree {
    void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
  };
  std::unique_ptr<EVP_PKEY_CTX, CtxFree> ctx(EVP_PKEY_CTX_new(key, nullptr));
  bool ok = ctx && EVP_PKEY_verify_init(ctx.get()) == 1 && EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) == 1 &&
            EVP_PKEY_CTX_set_signature_md(ctx.get(), md) == 1 &&
            EVP_PKEY_verify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                            reinterpret_cast<const unsigned char*>(hashed.data()), hashed.size()) == 1;
  ERR_clear_error();
  return ok;
}

bool is_pcr11_only(const nlohmann::json& pcrs) { return pcrs.is_array() && pcrs.size() == 1 && pcrs[0] == k_uki_pcr; }

// The problems of one bank's entries against the predicted policy `want`.
void check_bank(const std::string& bank, const nlohmann::json& entries, const std::string& want, const std::string& pkfp,
                EVP_PKEY* key, std::vector<std::string>& problems) {
  if (!entries.is_array() || entries.empty()) {
    problems.push_back(bank + ": no entry in .pcrsig");
    return;
  }
  // A node takes the entry whose policy is the one its TPM computes
  // (unseal.go walks the bank's list), so one matching entry is enough.
  for (const auto& e : entries) {
    if (!e.is_object() || !e.contains("pol") || !e["pol"].is_string() || e["pol"] != to_hex(want)) continue;
    if (!e.contains("pcrs") || !is_pcr11_only(e["pcrs"]))
      problems.push_back(bank + ": the entry covers " + e.value("pcrs", nlohmann::json()).dump() + ", not PCR 11 alone");
    if (!e.contains("pkfp") || !e["pkfp"].is_string() || e["pkfp"] != pkfp)
      problems.push_back(bank + ": pkfp is not the fingerprint of .pcrpkey (signed with another PCR key)");
    auto sig = e.contains("sig") && e["sig"].is_string() ? base64_decode(e["sig"].get<std::string>()) : std::nullopt;
    if (!sig || !signature_verifies(key, bank, want, *sig))
      problems.push_back(bank + ": the signature does not verify under .pcrpkey");
    return;
  }
  problems.push_back(bank + ": the signed policy is not this UKI's (a stale .pcrsig, or sections changed after signing)");
}

}  // namespace

Status SectionDigests::fill(const std::vector<const PeSection*>& sections, const std::vector<std::string>& banks) {
  std::string buffer(k_stream_chunk, '\0');
  for (const PeSection* section : sections) {
    std::vector<ossl::Ptr<EVP_MD_CTX>> ctxs;
    for (const auto& b : banks) {
      ctxs.emplace_back(EVP_MD_CTX_new());
      EVP_DigestInit_ex(ctxs.back().get(), md_of(b), nullptr);
    }
    uint64_t stored = std::min<uint64_t>(section->virtual_size, section->raw_size);
    for (uint64_t done = 0; done < section->virtual_size;) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(k_stream_chunk, section->virtual_size - done));
      if (done >= stored) {
        std::fill(buffer.begin(), buffer.begin() + static_cast<long>(n), '\0');  // loaded as zeros past the raw data
      } else {
        n = static_cast<size_t>(std::min<uint64_t>(n, stored - done));
        if (auto st = m_file.read_at(section->raw_offset + done, std::span<char>(buffer.data(), n)); !st) return st;
      }
      for (auto& ctx : ctxs) EVP_DigestUpdate(ctx.get(), buffer.data(), n);
      done += n;
    }
    std::lock_guard lock(m_mutex);
    for (size_t i = 0; i < banks.size(); ++i) {
      unsigned char out[EVP_MAX_MD_SIZE];
      unsigned int len = 0;
      EVP_DigestFinal_ex(ctxs[i].get(), out, &len);
      m_digests[section][banks[i]] = std::string(reinterpret_cast<const char*>(out), len);
    }
  }
  return {};
}

void SectionDigests::set(const PeSection* section, const std::string& bank, std::string digest) {
  std::lock_guard lock(m_mutex);
  m_digests[section][bank] = std::move(digest);
}

Result<std::string> SectionDigests::of(const PeSection& section, const std::string& bank) {
  {
    std::lock_guard lock(m_mutex);
    auto it = m_digests.find(&section);
    if (it != m_digests.end() && it->second.contains(bank)) return it->second.at(bank);
  }
  if (auto st = fill({&section}, {bank}); !st) return fail(st.error());
  std::lock_guard lock(m_mutex);
  return m_digests[&section].at(bank);
}

std::vector<const PeSection*> measured_sections(const UkiInfo& uki) {
  std::vector<const PeSection*> out;
  for (const auto& profile : uki.profiles)
    for (const auto& name : k_measured_sections)
      if (const PeSection* s = profile.section(name); s != nullptr && std::find(out.begin(), out.end(), s) == out.end())
        out.push_back(s);
  return out;
}

Result<std::vector<PcrPrediction>> predict_pcr11(const UkiProfile& profile, SectionDigests& digests) {
  std::vector<PcrPrediction> out;
  for (const auto& bank : k_pcr_banks) {
    const EVP_MD* md = md_of(bank);
    std::string value(static_cast<size_t>(EVP_MD_get_size(md)), '\0');
    for (const auto& name : k_measured_sections) {
      const PeSection* s = profile.section(name);
      if (s == nullptr) continue;
      value = extend(md, value, digest(md, std::string(name) + '\0'));
      auto content = digests.of(*s, bank);
      if (!content) return fail(content.error());
      value = extend(md, value, *content);
    }
    PcrPrediction p;
    p.bank = bank;
    std::string* slots[] = {&p.enter_initrd, &p.leave_initrd, &p.enter_machined};
    for (size_t i = 0; i < 3; ++i) {
      value = extend(md, value, digest(md, k_phases[i]));
      *slots[i] = to_hex(value);
    }
    out.push_back(std::move(p));
  }
  return out;
}

std::string policy_pcr_digest(const std::string& bank, const std::string& pcr_value) {
  // TPM 2.0 Library Part 3, TPM2_PolicyPCR: policyDigest' = H(policyDigest ||
  // TPM_CC_PolicyPCR || pcrs || digestTPM), in a SHA-256 session (Talos's
  // policy calculator, internal/pkg/secureboot/tpm2/policy.go), with pcrs a
  // TPML_PCR_SELECTION of one bank and 3 select bytes and digestTPM =
  // SHA256(the selected PCR values).
  std::string selection = be32(1);
  uint16_t alg = alg_id_of(bank);
  selection += static_cast<char>(alg >> 8);
  selection += static_cast<char>(alg & 0xff);
  selection += '\x03';
  std::string select(3, '\0');
  select[k_uki_pcr >> 3] = static_cast<char>(1 << (k_uki_pcr & 7));
  selection += select;
  return digest(EVP_sha256(), std::string(32, '\0') + be32(k_tpm_cc_policy_pcr) + selection + digest(EVP_sha256(), pcr_value));
}

Result<std::string> pcr_key_fingerprint(const std::string& pem) {
  auto key = rsa_public_key(pem);
  if (!key) return fail(ErrorKind::invalid_input, "not a PEM RSA public key");
  unsigned char* der = nullptr;
  int len = i2d_PublicKey(key.get(), &der);  // PKCS#1 RSAPublicKey for RSA keys
  if (len <= 0) return fail(ErrorKind::invalid_input, "cannot encode the RSA public key: " + ossl::take_error());
  std::string fingerprint =
      to_hex(digest(EVP_sha256(), std::string_view(reinterpret_cast<char*>(der), static_cast<size_t>(len))));
  OPENSSL_free(der);
  return fingerprint;
}

Result<PolicyVerdict> check_pcr_policy(const RandomAccess& file, const UkiProfile& profile,
                                       const std::optional<std::string>& pcrpkey_pem, SectionDigests& digests) {
  PolicyVerdict v;
  auto predicted = predict_pcr11(profile, digests);
  if (!predicted) return fail(predicted.error());
  v.predicted = std::move(*predicted);
  const PeSection* sig_section = profile.section(".pcrsig");
  if (sig_section == nullptr || !pcrpkey_pem) {
    v.problems.push_back(std::string("no ") + (sig_section == nullptr ? ".pcrsig" : ".pcrpkey") +
                         ": a node sealed to a PCR key cannot unseal its disk with this UKI");
    return v;
  }
  auto key = rsa_public_key(*pcrpkey_pem);
  if (!key) {
    v.problems.push_back(".pcrpkey is not a PEM RSA public key");
    return v;
  }
  auto pkfp = pcr_key_fingerprint(*pcrpkey_pem);
  if (!pkfp) return fail(pkfp.error());
  auto text = read_section(file, *sig_section, k_max_pcrsig);
  if (!text) return fail(text.error());
  auto json = nlohmann::json::parse(*text, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    v.problems.push_back(".pcrsig is not a JSON object");
    return v;
  }
  for (const auto& p : v.predicted) {
    if (!json.contains(p.bank)) continue;
    v.banks.push_back(p.bank);
    std::string value;
    for (size_t i = 0; i + 1 < p.enter_machined.size(); i += 2)
      value += static_cast<char>(std::stoi(p.enter_machined.substr(i, 2), nullptr, 16));
    check_bank(p.bank, json[p.bank], policy_pcr_digest(p.bank, value), *pkfp, key.get(), v.problems);
  }
  if (std::find(v.banks.begin(), v.banks.end(), "sha256") == v.banks.end())
    v.problems.push_back("sha256: missing bank (nodes unseal with the sha256 bank)");
  v.ok = v.problems.empty();
  return v;
}

}  // namespace sbpipe

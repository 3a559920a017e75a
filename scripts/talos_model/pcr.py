"""The `.pcrsig` JSON as Talos computes it (siderolabs/talos v1.11.0
internal/pkg/measure/internal/pcr/{bank_data,extend,sign,sections}.go,
internal/pkg/secureboot/tpm2/policy.go and secureboot.go; v1.9.0 has the same algorithm under
internal/pkg/secureboot/measure with a shorter section list).

PCR 11 is simulated from zero: for each section present, in OrderedSections order, extend with
H(name + NUL) and then H(content); then the phases enter-initrd and leave-initrd are extended
unsigned and enter-machined is extended and signed. The policy is TPM2 PolicyPCR over PCR 11 of
that bank, computed in a SHA-256 policy session: SHA256(0^32 || TPM_CC_PolicyPCR ||
TPML_PCR_SELECTION || SHA256(pcr value)). `sig` is RSA PKCS#1 v1.5 over H_bank(pol); `pkfp` is
SHA-256 of the PKCS#1 DER form of the public key.
"""

import base64
import hashlib
import json
import struct
import subprocess

ORDERED_SECTIONS = {
    # v1.9.0 internal/pkg/secureboot/secureboot.go OrderedSections
    "1.9": [".linux", ".osrel", ".cmdline", ".initrd", ".splash", ".dtb", ".uname", ".sbat", ".pcrpkey"],
    # v1.10+ internal/pkg/measure/internal/pcr/sections.go (the order systemd-stub 257 measures in)
    "1.11": [".linux", ".osrel", ".cmdline", ".initrd", ".ucode", ".splash", ".dtb", ".uname", ".sbat", ".pcrpkey",
             ".profile", ".dtbauto", ".hwids"],
}
ORDERED_SECTIONS["1.13"] = ORDERED_SECTIONS["1.11"]
ORDERED_SECTIONS["1.14"] = ORDERED_SECTIONS["1.11"]  # internal/pkg/measure/internal/pcr/sections.go, unchanged at v1.14.0-rc.1

PHASES = [("enter-initrd", False), ("leave-initrd", False), ("enter-machined", True)]
BANKS = [("sha256", 0x000B), ("sha384", 0x000C), ("sha512", 0x000D)]
TPM_CC_POLICY_PCR = 0x0000017F
UKI_PCR = 11


def pcr_selection(alg_id, pcr=UKI_PCR):
    """TPML_PCR_SELECTION with one TPMS_PCR_SELECTION of 3 select bytes (tpm2/pcr.go CreateSelector)."""
    select = bytearray(3)
    select[pcr >> 3] |= 1 << (pcr & 7)
    return struct.pack(">IHB", 1, alg_id, 3) + bytes(select)


def extend(alg, value, data):
    return hashlib.new(alg, value + hashlib.new(alg, data).digest()).digest()


def policy_pcr(pcr_value, alg_id):
    pcr_digest = hashlib.sha256(pcr_value).digest()
    return hashlib.sha256(bytes(32) + struct.pack(">I", TPM_CC_POLICY_PCR) + pcr_selection(alg_id) + pcr_digest).digest()


def predict(line, sections, alg):
    """PCR 11 after each phase: {phase: value}. `sections` maps name -> content bytes."""
    value = bytes(hashlib.new(alg).digest_size)
    for name in ORDERED_SECTIONS[line]:
        if name in sections:
            value = extend(alg, value, name.encode() + b"\0")
            value = extend(alg, value, sections[name])
    out = {}
    for phase, _ in PHASES:
        value = extend(alg, value, phase.encode())
        out[phase] = value
    return out


def public_key_fingerprint(key_pem_path):
    der = subprocess.run(["openssl", "rsa", "-in", key_pem_path, "-RSAPublicKey_out", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    return hashlib.sha256(der).hexdigest()


def sign(key_pem_path, alg, data):
    return subprocess.run(["openssl", "dgst", "-" + alg, "-sign", key_pem_path, "-binary"], input=data, check=True,
                          capture_output=True).stdout


def pcrsig_json(line, sections, key_pem_path):
    """The `.pcrsig` content: compact JSON as Go's json.Marshal writes PCRData."""
    pkfp = public_key_fingerprint(key_pem_path)
    data = {}
    for alg, alg_id in BANKS:
        values = predict(line, sections, alg)
        banks = []
        for phase, signed in PHASES:
            if not signed:
                continue
            pol = policy_pcr(values[phase], alg_id)
            sig = sign(key_pem_path, alg, pol)
            banks.append({"pcrs": [UKI_PCR], "pkfp": pkfp, "pol": pol.hex(), "sig": base64.b64encode(sig).decode()})
        data[alg] = banks
    return json.dumps(data, separators=(",", ":")).encode()


def uki_sections(path):
    """{name: content} of a profile-less UKI's measured sections, as loaded (VirtualSize bytes)."""
    import os
    import sys

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from talos_model.pe import PeFile

    pe = PeFile(open(path, "rb").read())
    out = {}
    for s in pe.sections:
        if s.name in ORDERED_SECTIONS["1.13"]:
            if s.name in out:
                raise SystemExit(f"{path}: two {s.name} sections")
            data = pe.data[s.raw_offset:s.raw_offset + min(s.raw_size, s.virtual_size)]
            out[s.name] = data + bytes(s.virtual_size - len(data))
    return out


if __name__ == "__main__":
    # pcr.py sign-uki UKI KEY: the .pcrsig Talos would write for a UKI without profiles (test fixtures).
    import sys

    if len(sys.argv) != 4 or sys.argv[1] != "sign-uki":
        raise SystemExit("usage: pcr.py sign-uki UKI PCR-SIGNING-KEY")
    sys.stdout.write(pcrsig_json("1.13", uki_sections(sys.argv[2]), sys.argv[3]).decode())

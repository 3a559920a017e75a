"""Authenticode signatures built by hand, for corpus cases no signing tool makes: a signer digest
algorithm other than the one the image digest names, a signature without its signer's
certificate, and images whose headers were edited after the tools would have refused them.

The structure is Authenticode's ("Windows Authenticode Portable Executable Signature Format":
a PKCS#7 SignedData whose content is SpcIndirectDataContent, the signer's authenticated attributes
holding contentType and messageDigest over that content's value octets, RFC 2315 9.3), encoded
in DER here; the RSA signature is openssl's (`openssl dgst -sign`, PKCS#1 v1.5).
"""

import hashlib
import os
import subprocess
import tempfile

OID = {
    "sha1": "2b0e03021a",
    "sha224": "608648016503040204",
    "sha256": "608648016503040201",
    "sha384": "608648016503040202",
    "sha512": "608648016503040203",
    "ripemd160": "2b24030201",
    "rsaEncryption": "2a864886f70d010101",
    "signedData": "2a864886f70d010702",
    "contentType": "2a864886f70d010903",
    "messageDigest": "2a864886f70d010904",
    "spcIndirectData": "2b060104018237020104",
    "spcPeImageData": "2b06010401823702010f",
}


def tlv(tag, content):
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + content


def seq(*items):
    return tlv(0x30, b"".join(items))


def set_of(*items):
    return tlv(0x31, b"".join(sorted(items)))  # DER: SET OF sorted by encoding


def oid(name):
    return tlv(0x06, bytes.fromhex(OID[name]))


def algorithm(name):
    return seq(oid(name), b"\x05\x00")


def read_tlv(data, at=0):
    """(tag, header length, content length) of the DER element at `at`."""
    tag, first = data[at], data[at + 1]
    if first < 0x80:
        return tag, 2, first
    n = first & 0x7F
    return tag, 2 + n, int.from_bytes(data[at + 2:at + 2 + n], "big")


def children(data):
    """The DER elements inside a constructed element's content."""
    out, at = [], 0
    while at < len(data):
        _, header, length = read_tlv(data, at)
        out.append(data[at:at + header + length])
        at += header + length
    return out


def content(element):
    _, header, length = read_tlv(element)
    return element[header:header + length]


def issuer_and_serial(cert_der):
    """IssuerAndSerialNumber of a DER certificate."""
    tbs = children(content(children(content(cert_der))[0]))
    if tbs[0][0] == 0xA0:  # [0] version
        tbs = tbs[1:]
    return seq(tbs[2], tbs[0])


def spc_indirect_data(digest_algorithm, digest):
    """SpcIndirectDataContent for a PE image: SpcPeImageData (flags, the "<<<Obsolete>>>" file
    link, as signing tools write it) and the image's DigestInfo."""
    obsolete = "<<<Obsolete>>>".encode("utf-16-be")
    pe_image_data = seq(b"\x03\x01\x00", tlv(0xA0, tlv(0xA2, tlv(0x80, obsolete))))
    return seq(seq(oid("spcPeImageData"), pe_image_data), seq(algorithm(digest_algorithm), tlv(0x04, digest)))


def der_certificate(pem_path):
    return subprocess.run(["openssl", "x509", "-in", pem_path, "-outform", "DER"], check=True, capture_output=True).stdout


def rsa_sign(key_path, algorithm_name, data):
    with tempfile.NamedTemporaryFile() as f:
        f.write(data)
        f.flush()
        return subprocess.run(["openssl", "dgst", "-" + algorithm_name, "-sign", key_path, f.name], check=True,
                              capture_output=True).stdout


def digest_of(name, data):
    """`name` digest of `data`: hashlib, or `openssl dgst` for what Python's OpenSSL hides (RIPEMD-160)."""
    try:
        return hashlib.new(name, data).digest()
    except ValueError:
        with tempfile.NamedTemporaryFile() as f:
            f.write(data)
            f.flush()
            return subprocess.run(["openssl", "dgst", "-" + name, "-binary", f.name], check=True, capture_output=True).stdout


def signer_info(idc, key_path, cert_der, signer_algorithm):
    """A SignerInfo over SpcIndirectDataContent `idc` by the key (RSA, DSA or EC: openssl signs)."""
    attributes = [seq(oid("contentType"), set_of(oid("spcIndirectData"))),
                  seq(oid("messageDigest"), set_of(tlv(0x04, digest_of(signer_algorithm, content(idc)))))]
    signed_attributes = set_of(*attributes)  # what the signature covers: the SET, tag 0x31
    signature = rsa_sign(key_path, signer_algorithm, signed_attributes)
    return seq(b"\x02\x01\x01", issuer_and_serial(cert_der), algorithm(signer_algorithm),
               b"\xa0" + signed_attributes[1:],  # [0] IMPLICIT
               algorithm("rsaEncryption"), tlv(0x04, signature))


def authenticode(image_digest, image_algorithm, key_path, cert_path, signer_algorithm=None, embed=None, extra_signers=()):
    """DER PKCS#7 ContentInfo signing `image_digest` (named `image_algorithm` in the
    SpcIndirectDataContent) with the key, the signer's digest algorithm `signer_algorithm`
    (default: the image's), embedding the certificates `embed` (default: the signers'; [] for none).
    `extra_signers` are (key, cert, digest algorithm) of further SignerInfos, after the first; the
    SETs keep that order (the first SignerInfo's algorithm stays at byte 32, where EDK2 reads it)."""
    signer_algorithm = signer_algorithm or image_algorithm
    signer = der_certificate(cert_path)
    extra = [(k, der_certificate(c), a) for k, c, a in extra_signers]
    certs = [signer] + [c for _, c, _ in extra] if embed is None else [der_certificate(p) for p in embed]
    idc = spc_indirect_data(image_algorithm, image_digest)
    infos = [signer_info(idc, key_path, signer, signer_algorithm)] + [signer_info(idc, k, c, a) for k, c, a in extra]
    algorithms = []
    for a in [signer_algorithm] + [a for _, _, a in extra]:
        if algorithm(a) not in algorithms:
            algorithms.append(algorithm(a))
    parts = [b"\x02\x01\x01", tlv(0x31, b"".join(algorithms)), seq(oid("spcIndirectData"), tlv(0xA0, idc))]
    if certs:
        parts.append(tlv(0xA0, b"".join(certs)))
    parts.append(tlv(0x31, b"".join(infos)))
    return seq(oid("signedData"), tlv(0xA0, seq(*parts)))


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return path

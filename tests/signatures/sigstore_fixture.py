"""A test Sigstore: a Fulcio-like CA (root + intermediate, leaves for code signing with an e-mail
SAN and the OIDC issuer extensions) and a Rekor-like log key and a CT log key, made with Python's `cryptography`
(Debian python3-cryptography), the trusted_root.json that names them, and keyless signatures
written by hand in the shapes the real services give:

- a sigstore bundle v0.3 (sigstore/protobuf-specs protos/sigstore_bundle.proto, JSON form) with a
  messageSignature over an artifact, the leaf in verificationMaterial.certificate and one
  hashedrekord v0.0.1 tlog entry (Rekor's pkg/types/hashedrekord/v0.0.1 body: the digest, the
  signature and the PEM leaf, base64) with its signed entry timestamp, and optionally an RFC 6962
  inclusion proof with a checkpoint (a signed note, transparency-dev/formats log/README.md);
- a legacy cosign `.sig` layer: the simple-signing payload with the signature, certificate and
  Rekor bundle annotations (cosign pkg/cosign/bundle RekorBundle);
- the same legacy signature as a bundle v0.1 (x509CertificateChain), for sigstore-js to judge.

The SET is the log key's ECDSA signature over the canonical JSON {body, integratedTime, logIndex,
logID} (sigstore-go pkg/tlog/entry.go VerifySET; RFC 8785 is Python's sort_keys with compact
separators for these keys and values). The Merkle tree follows RFC 6962 section 2.1."""

import base64
import datetime
import hashlib
import json

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ISSUER_OID = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
ISSUER_V1_OID = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
SCT_LIST_OID = x509.ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")
BUNDLE_V03 = "application/vnd.dev.sigstore.bundle.v0.3+json"
BUNDLE_V01 = "application/vnd.dev.sigstore.bundle+json;version=0.1"
TRUSTED_ROOT = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"


def b64(data):
    return base64.b64encode(data).decode()


def rfc3339(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def ecdsa_sign(key, data):
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


def spki(key):
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def der(cert):
    return cert.public_bytes(serialization.Encoding.DER)


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def utf8_der(text):
    raw = text.encode()
    assert len(raw) < 128
    return bytes([0x0C, len(raw)]) + raw


class CA:
    """A root and an intermediate, as Fulcio's chain: the intermediate restricted to code signing."""

    def __init__(self, name, not_before, not_after):
        self.root_key = ec.generate_private_key(ec.SECP256R1())
        self.key = ec.generate_private_key(ec.SECP256R1())
        root_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
                               x509.NameAttribute(NameOID.COMMON_NAME, name + " root")])
        self.root = self._cert(root_name, root_name, self.root_key.public_key(), self.root_key, not_before, not_after,
                               ca=True, path_length=1)
        self.name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
                               x509.NameAttribute(NameOID.COMMON_NAME, name + " intermediate")])
        self.intermediate = self._cert(self.name, root_name, self.key.public_key(), self.root_key, not_before, not_after,
                                       ca=True, path_length=0, eku=True, issuer_key=self.root_key)

    @staticmethod
    def _cert(subject, issuer, public_key, signing_key, not_before, not_after, ca, path_length, eku=False,
              issuer_key=None):
        b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
             .serial_number(x509.random_serial_number())
             .not_valid_before(datetime.datetime.fromtimestamp(not_before, datetime.timezone.utc))
             .not_valid_after(datetime.datetime.fromtimestamp(not_after, datetime.timezone.utc))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
             .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                          data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                          crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
             .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))
        if issuer_key is not None:
            b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                                critical=False)
        if eku:
            b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        return b.sign(signing_key, hashes.SHA256())

    def leaf(self, key, email, issuer, not_before, not_after, ct_log=None, sct_signer=None,
             eku=ExtendedKeyUsageOID.CODE_SIGNING):
        """A Fulcio-shaped leaf: empty subject, critical e-mail SAN, code signing, both issuer
        extensions, and (with `ct_log`) the SCT that log gives the precertificate, embedded as
        Fulcio embeds it (RFC 6962 section 3.3)."""
        serial = x509.random_serial_number()
        precert = self._leaf_builder(key, email, issuer, not_before, not_after, serial, eku)
        if ct_log is None:
            return precert.sign(self.key, hashes.SHA256())
        tbs = precert.sign(self.key, hashes.SHA256()).tbs_certificate_bytes
        sct = ct_log.sct(tbs, spki(self.key), not_before * 1000 + 1, sct_signer)
        return (precert.add_extension(x509.UnrecognizedExtension(SCT_LIST_OID, der_octet_string(tls_vector(sct, 2))),
                                      critical=False).sign(self.key, hashes.SHA256()))

    def _leaf_builder(self, key, email, issuer, not_before, not_after, serial, eku):
        return (x509.CertificateBuilder().subject_name(x509.Name([])).issuer_name(self.name)
                .public_key(key.public_key()).serial_number(serial)
                .not_valid_before(datetime.datetime.fromtimestamp(not_before, datetime.timezone.utc))
                .not_valid_after(datetime.datetime.fromtimestamp(not_after, datetime.timezone.utc))
                .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                             data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                             crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
                .add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                               critical=False)
                .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(email)]), critical=True)
                .add_extension(x509.UnrecognizedExtension(ISSUER_V1_OID, issuer.encode()), critical=False)
                .add_extension(x509.UnrecognizedExtension(ISSUER_OID, utf8_der(issuer)), critical=False))

    def trusted_root_entry(self, valid_from):
        return {"subject": {"organization": "test", "commonName": "test"}, "uri": "https://fulcio.test",
                "certChain": {"certificates": [{"rawBytes": b64(der(self.intermediate))},
                                               {"rawBytes": b64(der(self.root))}]},
                "validFor": {"start": rfc3339(valid_from)}}


def tls_vector(data, length_bytes):
    return len(data).to_bytes(length_bytes, "big") + data


def der_octet_string(data):
    n = len(data)
    if n < 128:
        return bytes([0x04, n]) + data
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x04, 0x80 | len(size)]) + size + data


class LogKey:
    """An ECDSA P-256 log key; its log ID is the SHA-256 of its DER key (Rekor's, and RFC 6962 3.2
    for CT logs), as a trusted root names it."""

    BASE_URL = ""

    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.log_id = hashlib.sha256(spki(self.key)).digest()

    def trusted_root_entry(self, valid_from):
        return {"baseUrl": self.BASE_URL, "hashAlgorithm": "SHA2_256",
                "publicKey": {"rawBytes": b64(spki(self.key)), "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                              "validFor": {"start": rfc3339(valid_from)}},
                "logId": {"keyId": b64(self.log_id)}}


class CTLog(LogKey):
    """A certificate transparency log."""

    BASE_URL = "https://ctfe.test"

    def sct(self, tbs, issuer_spki, timestamp_ms, signer=None):
        """An SCT list entry (RFC 6962 3.2/3.3, v1): the log's signature over the precert_entry."""
        signed = (bytes([0, 0]) + timestamp_ms.to_bytes(8, "big") + (1).to_bytes(2, "big") +
                  hashlib.sha256(issuer_spki).digest() + tls_vector(tbs, 3) + tls_vector(b"", 2))
        signature = ecdsa_sign(signer or self.key, signed)
        sct = (bytes([0]) + self.log_id + timestamp_ms.to_bytes(8, "big") + tls_vector(b"", 2) +
               bytes([4, 3]) + tls_vector(signature, 2))
        return tls_vector(sct, 2)


class Log(LogKey):
    """A Rekor v1 log (its checkpoints name it rekor.test, which sigstore-js matches against the
    base URL)."""

    BASE_URL = "https://rekor.test"
    ORIGIN = "rekor.test - 1234"
    NAME = "rekor.test"

    def set_over(self, body, integrated_time, log_index, signer=None):
        payload = {"body": b64(body), "integratedTime": integrated_time, "logIndex": log_index,
                   "logID": self.log_id.hex()}
        return ecdsa_sign(signer or self.key, canonical(payload))

    def checkpoint(self, size, root):
        note = f"{self.ORIGIN}\n{size}\n{b64(root)}\n"
        sig = ecdsa_sign(self.key, note.encode())
        return note + "\n\u2014 " + self.NAME + " " + b64(self.log_id[:4] + sig) + "\n"


# RFC 6962 section 2.1: MTH and PATH.
def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves):
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    k = split_point(len(leaves))
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def audit_path(m, leaves):
    if len(leaves) == 1:
        return []
    k = split_point(len(leaves))
    if m < k:
        return audit_path(m, leaves[:k]) + [mth(leaves[k:])]
    return audit_path(m - k, leaves[k:]) + [mth(leaves[:k])]


def hashedrekord_body(sha256_hex, signature, leaf):
    return canonical({"apiVersion": "0.0.1", "kind": "hashedrekord",
                      "spec": {"data": {"hash": {"algorithm": "sha256", "value": sha256_hex}},
                               "signature": {"content": b64(signature), "publicKey": {"content": b64(pem(leaf))}}}})


def dsse_body(payload, envelope, signature, leaf):
    """Rekor's dsse v0.0.1 body (pkg/types/dsse/v0.0.1): envelope and payload digests, the signature
    with its verifier (the PEM leaf, base64)."""
    return canonical({"apiVersion": "0.0.1", "kind": "dsse",
                      "spec": {"envelopeHash": {"algorithm": "sha256", "value": hashlib.sha256(envelope).hexdigest()},
                               "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()},
                               "signatures": [{"signature": b64(signature), "verifier": b64(pem(leaf))}]}})


def pae(payload_type, payload):
    """DSSE's pre-authentication encoding (secure-systems-lab/dsse protocol.md)."""
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def dsse_bundle(leaf, payload, signature, entries):
    return {"mediaType": BUNDLE_V03,
            "verificationMaterial": {"certificate": {"rawBytes": b64(der(leaf))}, "tlogEntries": entries},
            "dsseEnvelope": {"payload": b64(payload), "payloadType": "application/vnd.in-toto+json",
                             "signatures": [{"sig": b64(signature), "keyid": ""}]}}


def tlog_entry(log, body, integrated_time, log_index=7, set_signer=None, proof_size=0):
    """A bundle's tlogEntries[] item; with proof_size, an inclusion proof in a tree of that many
    leaves (the others random) whose checkpoint the log signs."""
    entry = {"logIndex": str(log_index), "logId": {"keyId": b64(log.log_id)},
             "kindVersion": {"kind": json.loads(body)["kind"], "version": "0.0.1"}, "integratedTime": str(integrated_time),
             "inclusionPromise": {"signedEntryTimestamp": b64(log.set_over(body, integrated_time, log_index,
                                                                             set_signer))},
             "canonicalizedBody": b64(body)}
    if proof_size:
        leaves = [hashlib.sha256(bytes([i])).digest() for i in range(proof_size)]
        leaves[log_index] = body
        root = mth(leaves)
        entry["inclusionProof"] = {"logIndex": str(log_index), "rootHash": b64(root), "treeSize": str(proof_size),
                                   "hashes": [b64(h) for h in audit_path(log_index, leaves)],
                                   "checkpoint": {"envelope": log.checkpoint(proof_size, root)}}
    return entry


def message_bundle(leaf, artifact_sha256, signature, entries):
    return {"mediaType": BUNDLE_V03,
            "verificationMaterial": {"certificate": {"rawBytes": b64(der(leaf))}, "tlogEntries": entries},
            "messageSignature": {"messageDigest": {"algorithm": "SHA2_256", "digest": b64(artifact_sha256)},
                                 "signature": b64(signature)}}


def cosign_rekor_bundle(entry):
    """cosign's dev.sigstore.cosign/bundle annotation for a bundle tlog entry."""
    return json.dumps({"SignedEntryTimestamp": entry["inclusionPromise"]["signedEntryTimestamp"],
                       "Payload": {"body": entry["canonicalizedBody"], "integratedTime": int(entry["integratedTime"]),
                                   "logIndex": int(entry["logIndex"]), "logID": log_id_hex(entry)}})


def log_id_hex(entry):
    return base64.b64decode(entry["logId"]["keyId"]).hex()


def legacy_as_bundle(leaf, payload, signature, entry):
    """A legacy .sig signature as a bundle v0.1, for sigstore-js: the same certificate, signature
    and log entry, the payload as the artifact."""
    return {"mediaType": BUNDLE_V01,
            "verificationMaterial": {"x509CertificateChain": {"certificates": [{"rawBytes": b64(der(leaf))}]},
                                     "tlogEntries": [entry]},
            "messageSignature": {"messageDigest": {"algorithm": "SHA2_256",
                                                   "digest": b64(hashlib.sha256(payload).digest())},
                                 "signature": b64(signature)}}


def trusted_root(cas, logs, ct_logs, valid_from):
    return {"mediaType": TRUSTED_ROOT, "certificateAuthorities": [ca.trusted_root_entry(valid_from) for ca in cas],
            "tlogs": [log.trusted_root_entry(valid_from) for log in logs],
            "ctlogs": [log.trusted_root_entry(valid_from) for log in ct_logs], "timestampAuthorities": []}

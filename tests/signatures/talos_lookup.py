"""A model of how a Talos node finds and checks an image's signature for an ImageVerificationConfig
publicKey rule, written from siderolabs/talos at ad8823176e75:

- internal/pkg/containers/image/verify/internal/cosign/cosign.go (VerifyImage): the order
  1. OCI referrers of the digest whose artifactType starts with application/vnd.dev.sigstore.bundle
     (each a manifest with exactly one layer, the bundle JSON); when there is any, their verdict is
     final;
  2. the tag sha256-<hex>: an OCI manifest whose bundle-typed layers are bundles, or an OCI index of
     such manifests; when it holds any bundle, its verdict is final;
  3. the legacy tag sha256-<hex>.sig (an OCI manifest): each layer is a simple-signing payload, the
     base64 signature in the dev.cosignproject.cosign/signature annotation;
  bounds: manifests 128 KiB, bundles and payloads 1 MiB, 100 layers; bundles must be v0.3 or later.
- internal/pkg/containers/image/verify/verify.go (cosignCheckOptsFromRule): a publicKey rule is
  checked offline with IgnoreTlog, so a key-signed bundle needs no transparency-log entry; the key is
  read with sigstore's UnmarshalPEMToPublicKey and SHA-256.
- cosign's checks behind it (sigstore/cosign pkg/cosign/verify.go; sigstore-go pkg/verify): a
  bundle's messageSignature must name the image digest; a DSSE envelope's signature is over
  PAE(type, payload) and its in-toto statement must have a subject with the image digest; a legacy
  payload's critical.image.docker-manifest-digest must be the image digest.

Left out: keyless rules (certificates, SCTs, Rekor), the CDN tag-fetch fallback, registry mirrors and
auth, and the rule matching itself (the caller picks the key). The model talks plain HTTP to a
loopback registry with urllib and checks signatures with python3-cryptography; it shares no code
with sbpipe."""

import base64
import hashlib
import json
import urllib.error
import urllib.request

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

BUNDLE_PREFIX = "application/vnd.dev.sigstore.bundle"
BUNDLE_V03 = "application/vnd.dev.sigstore.bundle.v0.3+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
ACCEPT = ", ".join([OCI_MANIFEST, OCI_INDEX, "application/vnd.docker.distribution.manifest.v2+json",
                    "application/vnd.docker.distribution.manifest.list.v2+json"])
MAX_MANIFEST = 128 * 1024
MAX_BUNDLE = 1024 * 1024
MAX_LAYERS = 100


class Registry:
    def __init__(self, base, repository):
        self.base = base.rstrip("/")
        self.repository = repository

    def _get(self, path, accept=None, limit=MAX_BUNDLE):
        req = urllib.request.Request(f"{self.base}/v2/{self.repository}/{path}")
        if accept:
            req.add_header("Accept", accept)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                body = r.read(limit + 1)
                if len(body) > limit:
                    raise ValueError(f"{path}: larger than {limit} bytes")
                return r.headers.get("Content-Type", ""), body
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None, None
            raise

    def manifest(self, reference):
        media, body = self._get(f"manifests/{reference}", ACCEPT, MAX_MANIFEST)
        if body is None:
            return None, None
        return media, json.loads(body)

    def blob(self, digest):
        _, body = self._get(f"blobs/{digest}")
        if body is None:
            raise ValueError(f"blob {digest} not found")
        if "sha256:" + hashlib.sha256(body).hexdigest() != digest:
            raise ValueError(f"blob {digest} has other content")
        return body

    def referrers(self, digest):
        _, body = self._get(f"referrers/{digest}?artifactType={BUNDLE_V03}", OCI_INDEX, MAX_MANIFEST)
        return None if body is None else json.loads(body)


def glob_match(pattern, subject):
    """github.com/ryanuber/go-glob Glob(), which Talos matches rule images with
    (pkg/machinery/resources/security/image_verification_rule.go): '*' matches any run, '/' too."""
    if pattern == "":
        return subject == pattern
    if pattern == "*":
        return True
    parts = pattern.split("*")
    if len(parts) == 1:
        return subject == pattern
    leading, trailing = pattern.startswith("*"), pattern.endswith("*")
    for i, part in enumerate(parts[:-1]):
        at = subject.find(part)
        if i == 0 and not leading and at != 0:
            return False
        if at < 0:
            return False
        subject = subject[at + len(part):]
    return trailing or subject.endswith(parts[-1])


def _verify(key, signature, data=None, prehashed=None):
    """sigstore's LoadVerifier(key, SHA256): ECDSA (ASN.1) or RSA PKCS#1 v1.5."""
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            algo = ec.ECDSA(utils.Prehashed(hashes.SHA256())) if prehashed else ec.ECDSA(hashes.SHA256())
            key.verify(signature, prehashed or data, algo)
        elif isinstance(key, rsa.RSAPublicKey):
            algo = utils.Prehashed(hashes.SHA256()) if prehashed else hashes.SHA256()
            key.verify(signature, prehashed or data, padding.PKCS1v15(), algo)
        else:
            return False
        return True
    except InvalidSignature:
        return False


def _bundle_ok(raw, key, digest_hex):
    bundle = json.loads(raw)
    media = bundle.get("mediaType", "")
    if not media.startswith(BUNDLE_PREFIX + ".v0.") or media < BUNDLE_V03:
        return False, f"bundle version too old ({media})"
    if "messageSignature" in bundle:
        ms = bundle["messageSignature"]
        md = base64.b64decode(ms["messageDigest"]["digest"])
        if md.hex() != digest_hex:
            return False, "messageSignature names another digest"
        return _verify(key, base64.b64decode(ms["signature"]), prehashed=md), "messageSignature"
    env = bundle["dsseEnvelope"]
    payload = base64.b64decode(env["payload"])
    ptype = env["payloadType"]
    pae = b"DSSEv1 %d %s %d %s" % (len(ptype), ptype.encode(), len(payload), payload)
    if len(env["signatures"]) != 1 or not _verify(key, base64.b64decode(env["signatures"][0]["sig"]), data=pae):
        return False, "DSSE signature does not verify"
    if ptype != "application/vnd.in-toto+json":
        return False, "DSSE payload is not in-toto"
    statement = json.loads(payload)
    if not any(s.get("digest", {}).get("sha256") == digest_hex for s in statement.get("subject", [])):
        return False, "statement subject is another digest"
    return True, "DSSE"


def _bundle_layers(reg, manifest, exactly_one):
    layers = manifest.get("layers", [])[:MAX_LAYERS]
    if exactly_one:
        if len(layers) != 1:
            raise ValueError(f"referrer with {len(layers)} layers")
        return [layers[0]]
    return [layer for layer in layers if layer.get("mediaType", "").startswith(BUNDLE_PREFIX)]


def verify_image(reg, digest, public_key_pem):
    """Returns (True, how) or (False, why), as Talos's VerifyImage would decide."""
    key = serialization.load_pem_public_key(public_key_pem)
    digest_hex = digest.split(":", 1)[1]

    def try_bundles(layers, where):
        last = "no bundles"
        for layer in layers:
            try:
                ok, how = _bundle_ok(reg.blob(layer["digest"]), key, digest_hex)
            except (ValueError, KeyError) as e:
                ok, how = False, str(e)
            if ok:
                return True, f"{how} bundle via {where}"
            last = how
        return False, f"{where}: {last}"

    # 1. referrers
    index = reg.referrers(digest)
    if index is not None:
        refs = [m for m in index.get("manifests", []) if m.get("artifactType", "").startswith(BUNDLE_PREFIX)]
        if refs:
            layers = []
            for ref in refs:
                _, manifest = reg.manifest(ref["digest"])
                if manifest is not None:
                    layers += _bundle_layers(reg, manifest, True)
            return try_bundles(layers, "referrers")
    # 2. bundle tag
    tag = digest.replace(":", "-")
    media, doc = reg.manifest(tag)
    if doc is not None:
        layers = []
        if media == OCI_MANIFEST:
            layers = _bundle_layers(reg, doc, False)
        elif media == OCI_INDEX:
            for entry in doc.get("manifests", [])[:MAX_LAYERS]:
                if entry.get("mediaType") == OCI_MANIFEST:
                    _, manifest = reg.manifest(entry["digest"])
                    if manifest is not None:
                        layers += _bundle_layers(reg, manifest, False)
        if layers:
            return try_bundles(layers, f"tag {tag}")
    # 3. legacy .sig
    media, doc = reg.manifest(tag + ".sig")
    if doc is None:
        return False, "no signature found"
    if media != OCI_MANIFEST:
        return False, f"unexpected media type for .sig manifest: {media}"
    last = "no legacy signatures found"
    for layer in doc.get("layers", [])[:MAX_LAYERS]:
        payload = reg.blob(layer["digest"])
        b64 = layer.get("annotations", {}).get("dev.cosignproject.cosign/signature")
        if b64 is None:
            last = "missing signature annotation"
            continue
        if not _verify(key, base64.b64decode(b64), data=payload):
            last = "legacy signature does not verify"
            continue
        claimed = json.loads(payload)["critical"]["image"]["docker-manifest-digest"]
        if claimed != digest:
            last = f"legacy signature is for {claimed}"
            continue
        return True, f"legacy signature via tag {tag}.sig"
    return False, last

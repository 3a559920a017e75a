"""A model of containers/image's sigstore signatures, the ones `skopeo copy` checks under a policy.json
`sigstoreSigned` requirement with registries.d `use-sigstore-attachments: true`, and writes with
`--sign-by-sigstore-private-key`. Written from containers/image v5.23.1 (the version Debian's skopeo
1.9.3 is built with), because Debian builds that skopeo with sigstore disabled ("Debian-local change:
sigstore disabled", for checking and signing alike), so the real tool cannot judge here:

- reading: docker/docker_client.go getSigstoreAttachmentManifest (tag sha256-<hex>.sig in the same
  repository, 404 = no signatures, an OCI manifest), each layer's blob a payload with the layer's media
  type and annotations;
- checking: signature/policy_eval_sigstore.go (isRunningImageAllowed: any accepted signature of MIME
  type application/vnd.dev.cosign.simplesigning.v1+json wins; none = "A signature was required, but no
  signature exists"), signature/internal/sigstore_payload.go (VerifySigstorePayload: the base64
  signature in dev.cosignproject.cosign/signature verified over the payload with the key and SHA-256,
  then the strict JSON: exactly critical{type, image{docker-manifest-digest},
  identity{docker-reference}} and optional; type "cosign container image signature"; the digest must
  match the image's manifest; the reference must satisfy signedIdentity),
  signature/policy_reference_match.go (matchRepository: same repository name;
  matchRepoDigestOrExact, the default: a tagged image needs the exact reference, a digest one the
  same repository);
- writing: signature/sigstore/sign.go and internal/signature (NewUntrustedSigstorePayload: the
  destination reference with its tag, optional creator and timestamp), docker/docker_image_dest.go
  putSignaturesToSigstoreAttachments (layers appended to the .sig manifest, an OCI image config
  listing them as diff_ids).

Left out: GPG ("signedBy") and "simple signing" signatures, lookaside storage, other transports,
signedIdentity types other than the two above, ed25519 keys, Rekor/Fulcio (not in 5.23)."""

import base64
import hashlib
import json
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

import oci_push

SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
SIG_ANNOTATION = "dev.cosignproject.cosign/signature"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _exact(obj, keys, what):
    if not isinstance(obj, dict) or set(obj) != set(keys):
        raise ValueError(f"{what}: expected exactly {sorted(keys)}")
    return obj


def _parse_payload(data):
    doc = _exact(json.loads(data), ["critical", "optional"], "signature")
    critical = _exact(doc["critical"], ["type", "image", "identity"], "critical")
    if critical["type"] != "cosign container image signature":
        raise ValueError(f"Unrecognized signature type {critical['type']}")
    digest = _exact(critical["image"], ["docker-manifest-digest"], "critical.image")["docker-manifest-digest"]
    reference = _exact(critical["identity"], ["docker-reference"], "critical.identity")["docker-reference"]
    return digest, reference


def _verify(key, signature, data):
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            return False
        return True
    except InvalidSignature:
        return False


def _split(ref):
    """(name, tag or None, digest or None) of HOST/REPO[:TAG][@DIGEST]."""
    name, _, digest = ref.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    tag = None
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
    return name, tag, digest or None


def _identity_ok(image_ref, signed_ref, identity):
    name, tag, digest = _split(image_ref)
    s_name, s_tag, s_digest = _split(signed_ref)
    if identity == "matchRepository":
        return s_name == name
    if identity == "matchRepoDigestOrExact":
        if digest is None:
            return s_name == name and s_tag == tag and s_digest is None
        return s_name == name
    raise ValueError(f"signedIdentity {identity} is not modelled")


def is_running_image_allowed(reg, image_ref, manifest_bytes, public_key_pem, identity="matchRepoDigestOrExact"):
    """(True, None) or (False, reason), as skopeo copy's policy check would decide."""
    key = serialization.load_pem_public_key(public_key_pem)
    digest = _sha256(manifest_bytes)
    media, sig_manifest = reg.manifest(digest.replace(":", "-") + ".sig")
    rejections = []
    if sig_manifest is not None:
        if media != OCI_MANIFEST:
            return False, f"unexpected sigstore attachment manifest type {media}"
        for layer in sig_manifest.get("layers", []):
            if layer.get("mediaType") != SIMPLESIGNING:
                continue
            payload = reg.blob(layer["digest"])
            b64 = layer.get("annotations", {}).get(SIG_ANNOTATION)
            if b64 is None:
                rejections.append(f"missing {SIG_ANNOTATION} annotation")
                continue
            if not _verify(key, base64.b64decode(b64), payload):
                rejections.append("cryptographic signature verification failed")
                continue
            try:
                signed_digest, signed_ref = _parse_payload(payload)
            except ValueError as e:
                rejections.append(str(e))
                continue
            if signed_digest != digest:
                rejections.append(f"Signature for digest {signed_digest} does not match")
                continue
            if not _identity_ok(image_ref, signed_ref, identity):
                rejections.append(f"Signature for identity {signed_ref} is not accepted")
                continue
            return True, None
    if not rejections:
        return False, "A signature was required, but no signature exists"
    return False, "; ".join(rejections)


def sign_like_skopeo(base, repository, tag, manifest_bytes, private_key, registry_host):
    """Attaches a signature as `skopeo copy --sign-by-sigstore-private-key` to docker://HOST/REPO:TAG
    would: the payload names the destination reference with its tag, creator and timestamp."""
    digest = _sha256(manifest_bytes)
    payload = json.dumps({"critical": {"identity": {"docker-reference": f"{registry_host}/{repository}:{tag}"},
                                       "image": {"docker-manifest-digest": digest},
                                       "type": "cosign container image signature"},
                          "optional": {"creator": "containers/image 5.23.1", "timestamp": int(time.time())}},
                         separators=(",", ":"), sort_keys=True).encode()
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        signature = private_key.sign(payload, ec.ECDSA(hashes.SHA256()))
    else:
        signature = private_key.sign(payload, padding.PKCS1v15(), hashes.SHA256())
    layer = {"mediaType": SIMPLESIGNING, "digest": _sha256(payload), "size": len(payload),
             "annotations": {SIG_ANNOTATION: base64.b64encode(signature).decode()}}
    config = json.dumps({"architecture": "", "os": "", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}}, separators=(",", ":")).encode()
    for blob in (payload, config):
        _put_blob(base, repository, blob)
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": _sha256(config),
                           "size": len(config)},
                "layers": [layer]}
    oci_push.put_manifest(base, repository, f"{digest.replace(':', '-')}.sig", json.dumps(manifest).encode())


def _put_blob(base, repository, data):
    oci_push.put_blob(base, repository, data)

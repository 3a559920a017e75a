#!/usr/bin/env python3
"""Signatures in and out, judged by tools that are not sbpipe (issue 26).

Against Debian's docker-registry on 127.0.0.1 (no referrers API, so bundles go to the
sha256-<hex> referrers tag):

- installers pushed by `sbpipe push-installer --sign-key` are accepted by Debian's skopeo
  (containers/image) under a policy.json `sigstoreSigned` requirement (keyPath) with
  registries.d `use-sigstore-attachments: true`, for the index tag, every arch tag and every
  digest; refused when unsigned, re-tagged into another repository, with the tag moved to another
  image, with the wrong key, and with a tampered signature or payload;
- a model of Talos's lookup order (talos_lookup.py, written from Talos's source) finds a valid
  signature for each of them, and none with the wrong key;
- a re-run adds no signature;
- sigstore-js (@sigstore/verify, tests/signatures/js, installed by scripts/setup from the
  committed lockfile) verifies every installer bundle with the public key, and refuses it with
  another;
- a release published by `upload-assets --sign-key` (dir: target) has a NAME.sigstore.json for
  every asset and both checksum files, listed in the checksums; sigstore-js verifies each against
  its file with the public key; `verify-release` accepts it and refuses a tampered asset, a missing
  bundle and the wrong key, exactly when sigstore-js does; finalize refuses a missing or foreign
  bundle; a re-run changes nothing;
- sbpipe's input check (`plan --pin-digests` with imager.image_verification rules) accepts an
  imager image signed by `skopeo copy --sign-by-sigstore-private-key` (a cosign-format encrypted
  key made here with python3-nacl, as go-securesystemslib's encrypted package lays it out) and
  refuses it unsigned, with the wrong key and with a tampered signature;
- with a keyless rule, the input check accepts exactly the signatures of a test Fulcio CA and Rekor
  log that sigstore-js accepts against the same trusted_root.json (keyless_inputs.py).

Usage: test_signatures.py SBPIPE"""

import base64
import gzip
import secrets
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile
import tempfile
import unittest
import urllib.request

import jsonschema
import nacl.secret
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "boot"))
sys.path.insert(0, HERE)
from tools import Registry, make_owner_keys, run  # noqa: E402
import containers_image  # noqa: E402
import keyless_inputs  # noqa: E402
import oci_push  # noqa: E402
import talos_lookup  # noqa: E402
from keyless_inputs import KeylessInputCheck  # noqa: E402,F401  (run with the rest: sbpipe's keyless check vs sigstore-js)

SBPIPE = None
JS = os.path.join(HERE, "js")
DEBIAN_DISABLED = "Debian-local change: sigstore disabled"
_real_skopeo = None


def real_skopeo_judges(stderr=None):
    """Whether the installed skopeo checks and writes sigstore signatures. Debian's 1.9.3 is built
    with sigstore disabled; the containers/image model (containers_image.py) judges then, and the
    suite says so on stderr."""
    global _real_skopeo
    if _real_skopeo is None and stderr is not None:
        _real_skopeo = DEBIAN_DISABLED not in stderr
        if not _real_skopeo:
            print("signatures: Debian's skopeo is built with sigstore disabled (\"" + DEBIAN_DISABLED + "\"): "
                  "containers/image's checks and signer are judged by the model in containers_image.py "
                  "(written from containers/image v5.23.1)", file=sys.stderr)
    return _real_skopeo


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def oci_layout(directory, arch, marker):
    """A one-layer installer-shaped OCI image layout for linux/<arch>."""
    blobs = os.path.join(directory, "blobs", "sha256")
    os.makedirs(blobs, exist_ok=True)

    def put(data):
        with open(os.path.join(blobs, hashlib.sha256(data).hexdigest()), "wb") as f:
            f.write(data)
        return sha256(data)

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        body = f"UKI of {marker} for {arch}".encode()
        info = tarfile.TarInfo(f"usr/install/{arch}/vmlinuz.efi")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    layer = gzip.compress(raw.getvalue(), mtime=0)
    config = json.dumps({"architecture": arch, "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [sha256(raw.getvalue())]}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": talos_lookup.OCI_MANIFEST,
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(config),
                                      "size": len(config)},
                           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": put(layer),
                                       "size": len(layer)}]}).encode()
    digest = put(manifest)
    with open(os.path.join(directory, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion": "1.0.0"}')
    with open(os.path.join(directory, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{"mediaType": talos_lookup.OCI_MANIFEST, "digest": digest,
                                                      "size": len(manifest)}]}, f)
    return directory


def openssl(*args):
    run("openssl", *args)


class SignedInstallers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="sbpipe-signatures-")
        cls.registry = Registry(os.path.join(cls.tmp, "registry"))
        cls.host = f"127.0.0.1:{cls.registry.port}"
        cls.base = f"http://{cls.host}"
        keys = os.path.join(cls.tmp, "keys")
        os.makedirs(keys)
        cls.key = os.path.join(keys, "cosign.key")
        cls.pub = os.path.join(keys, "cosign.pub")
        openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", cls.key)
        openssl("ec", "-in", cls.key, "-pubout", "-out", cls.pub)
        cls.other_key = os.path.join(keys, "other.key")
        cls.other_pub = os.path.join(keys, "other.pub")
        openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", cls.other_key)
        openssl("ec", "-in", cls.other_key, "-pubout", "-out", cls.other_pub)
        cls.rsa_key = os.path.join(keys, "rsa.key")
        cls.rsa_pub = os.path.join(keys, "rsa.pub")
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", cls.rsa_key)
        openssl("pkey", "-in", cls.rsa_key, "-pubout", "-out", cls.rsa_pub)
        cls.images = {arch: oci_layout(os.path.join(cls.tmp, f"img-{arch}"), arch, "v1") for arch in ("amd64", "arm64")}
        cls.other_image = oci_layout(os.path.join(cls.tmp, "img-other"), "amd64", "other")
        cls.signed = cls.push("owner/installer", "v1.0.0", cls.key, *cls.images.values())
        cls.rsa_signed = cls.push("owner/rsa", "v1.0.0", cls.rsa_key, cls.images["amd64"])
        cls.unsigned = cls.push("owner/unsigned", "v1.0.0", None, *cls.images.values())

    @classmethod
    def tearDownClass(cls):
        cls.registry.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def push(cls, repo, tag, key, *inputs):
        args = [SBPIPE, "push-installer", *inputs, "--ref", f"{cls.host}/{repo}:{tag}", "--plain-http", "--format", "json"]
        if key:
            args += ["--sign-key", key]
        r = run(*args, check=False)
        if r.returncode != 0:
            raise AssertionError(f"push-installer to {repo}:{tag} failed: {r.stderr.decode(errors='replace')[-2000:]}")
        return json.loads(r.stdout)

    def reg(self, repo):
        return talos_lookup.Registry(self.base, repo)

    def arch_digests(self, repo, index_digest):
        _, index = self.reg(repo).manifest(index_digest)
        return {m["platform"]["architecture"]: m["digest"] for m in index["manifests"]}

    # --- containers/image ---------------------------------------------------------------
    def skopeo_copy(self, ref, pub, identity="matchRepository", scope=None):
        work = tempfile.mkdtemp(dir=self.tmp)
        policy = {"default": [{"type": "reject"}],
                  "transports": {"docker": {scope or f"{self.host}/owner": [
                      {"type": "sigstoreSigned", "keyPath": pub, "signedIdentity": {"type": identity}}]}}}
        with open(os.path.join(work, "policy.json"), "w") as f:
            json.dump(policy, f)
        os.makedirs(os.path.join(work, "registries.d"))
        with open(os.path.join(work, "registries.d", "sbpipe.yaml"), "w") as f:
            f.write(f"docker:\n  {self.host}:\n    use-sigstore-attachments: true\n")
        return run("skopeo", "copy", "--policy", os.path.join(work, "policy.json"), "--registries.d",
                   os.path.join(work, "registries.d"), "--src-tls-verify=false", f"docker://{ref}",
                   f"dir:{os.path.join(work, 'out')}", check=False)

    def judge(self, ref, pub, identity="matchRepository"):
        """(accepted, stderr) of `skopeo copy` under the policy, or of the containers/image model
        when Debian's skopeo has sigstore disabled."""
        if real_skopeo_judges() is not False:
            r = self.skopeo_copy(ref, pub, identity)
            err = r.stderr.decode(errors="replace")
            if real_skopeo_judges(err):
                return r.returncode == 0, err
            self.assertIn(DEBIAN_DISABLED, err)
        rest = ref.split("/", 1)[1]
        repo, reference = rest.split("@", 1) if "@" in rest else rest.rsplit(":", 1)
        _, body = talos_lookup.Registry(self.base, repo)._get(f"manifests/{reference}", talos_lookup.ACCEPT,
                                                             talos_lookup.MAX_MANIFEST)
        with open(pub, "rb") as f:
            ok, why = containers_image.is_running_image_allowed(self.reg(repo), ref, body, f.read(), identity)
        return ok, why or ""

    def assert_skopeo_accepts(self, ref, pub=None):
        ok, err = self.judge(ref, pub or self.pub)
        self.assertTrue(ok, f"containers/image refused {ref}: {err}")

    def assert_skopeo_refuses(self, ref, pub=None, why=""):
        ok, err = self.judge(ref, pub or self.pub)
        self.assertFalse(ok, f"containers/image accepted {ref}")
        if why:
            self.assertIn(why, err)

    def test_skopeo_accepts_every_pushed_installer(self):
        repo = f"{self.host}/owner/installer"
        self.assert_skopeo_accepts(f"{repo}:v1.0.0")
        self.assert_skopeo_accepts(f"{repo}@{self.signed['digest']}")
        for arch, digest in self.arch_digests("owner/installer", self.signed["digest"]).items():
            with self.subTest(arch=arch):
                self.assert_skopeo_accepts(f"{repo}:v1.0.0-{arch}")
                self.assert_skopeo_accepts(f"{repo}@{digest}")
        self.assert_skopeo_accepts(f"{self.host}/owner/rsa:v1.0.0", self.rsa_pub)

    def test_skopeo_refuses_unsigned_and_wrong_key(self):
        self.assert_skopeo_refuses(f"{self.host}/owner/unsigned:v1.0.0", why="no signature exists")
        self.assert_skopeo_refuses(f"{self.host}/owner/installer:v1.0.0", self.other_pub,
                                   why="cryptographic signature verification failed")
        self.assert_skopeo_refuses(f"{self.host}/owner/rsa:v1.0.0", self.pub)

    def test_skopeo_refuses_retagged_images(self):
        # The signed index and its signatures copied into another repository: the signature names
        # owner/installer, so the other repository's requirement refuses it.
        r = run("skopeo", "copy", "--all", "--preserve-digests", "--insecure-policy", "--src-tls-verify=false",
                "--dest-tls-verify=false",
                f"docker://{self.host}/owner/installer@{self.signed['digest']}",
                f"docker://{self.host}/owner/copied:v1.0.0", check=False)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        sig_tag = self.signed["digest"].replace(":", "-") + ".sig"
        r = run("skopeo", "copy", "--insecure-policy", "--src-tls-verify=false", "--dest-tls-verify=false",
                f"docker://{self.host}/owner/installer:{sig_tag}", f"docker://{self.host}/owner/copied:{sig_tag}",
                check=False)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        self.assert_skopeo_refuses(f"{self.host}/owner/copied:v1.0.0", why="is not accepted")
        # A signed tag moved to another (unsigned) image of the same repository.
        self.push("owner/moved", "v2", self.key, self.images["amd64"])
        self.assert_skopeo_accepts(f"{self.host}/owner/moved:v2")
        self.push("owner/moved", "v2", None, self.other_image)
        self.assert_skopeo_refuses(f"{self.host}/owner/moved:v2", why="no signature exists")

    def test_skopeo_refuses_tampered_signatures(self):
        signed = self.push("owner/tampered", "v1", self.key, self.images["amd64"])
        digest = signed["digest"]
        reg = self.reg("owner/tampered")
        sig_tag = digest.replace(":", "-") + ".sig"
        _, sig = reg.manifest(sig_tag)
        layer = sig["layers"][0]
        good_b64 = layer["annotations"]["dev.cosignproject.cosign/signature"]
        raw = bytearray(base64.b64decode(good_b64))
        raw[-1] ^= 1
        layer["annotations"]["dev.cosignproject.cosign/signature"] = base64.b64encode(bytes(raw)).decode()
        self.put_manifest("owner/tampered", sig_tag, sig)
        self.assert_skopeo_refuses(f"{self.host}/owner/tampered:v1", why="cryptographic signature verification failed")
        # The payload swapped for one naming another digest, the signature kept.
        payload = json.loads(reg.blob(layer["digest"]))
        payload["critical"]["image"]["docker-manifest-digest"] = "sha256:" + "0" * 64
        body = json.dumps(payload).encode()
        self.put_blob("owner/tampered", body)
        layer["annotations"]["dev.cosignproject.cosign/signature"] = good_b64
        layer["digest"], layer["size"] = sha256(body), len(body)
        self.put_manifest("owner/tampered", sig_tag, sig)
        self.assert_skopeo_refuses(f"{self.host}/owner/tampered:v1", why="cryptographic signature verification failed")

    def put_blob(self, repo, data):
        oci_push.put_blob(self.base, repo, data)

    def put_manifest(self, repo, reference, doc):
        oci_push.put_manifest(self.base, repo, reference, json.dumps(doc).encode())

    # --- Talos's lookup order -----------------------------------------------------------
    def test_talos_model_finds_a_valid_signature_for_every_pushed_installer(self):
        with open(self.pub, "rb") as f:
            pub = f.read()
        with open(self.other_pub, "rb") as f:
            other = f.read()
        reg = self.reg("owner/installer")
        digests = [self.signed["digest"], *self.arch_digests("owner/installer", self.signed["digest"]).values()]
        for digest in digests:
            with self.subTest(digest=digest):
                ok, how = talos_lookup.verify_image(reg, digest, pub)
                self.assertTrue(ok, how)
                # Debian's registry has no referrers API: the bundle is found at the bundle tag,
                # which Talos reads before the .sig tag (and its verdict is final).
                self.assertIn("bundle via tag sha256-", how)
                ok, how = talos_lookup.verify_image(reg, digest, other)
                self.assertFalse(ok, f"accepted with the wrong key: {how}")
        with open(self.rsa_pub, "rb") as f:
            ok, how = talos_lookup.verify_image(self.reg("owner/rsa"), self.rsa_signed["digest"], f.read())
        self.assertTrue(ok, how)
        ok, how = talos_lookup.verify_image(self.reg("owner/unsigned"), self.unsigned["digest"], pub)
        self.assertFalse(ok)
        self.assertEqual(how, "no signature found")

    def test_rerun_adds_no_signature(self):
        again = self.push("owner/installer", "v1.0.0", self.key, *self.images.values())
        self.assertEqual(again["digest"], self.signed["digest"])
        reg = self.reg("owner/installer")
        for digest in [self.signed["digest"], *self.arch_digests("owner/installer", self.signed["digest"]).values()]:
            _, sig = reg.manifest(digest.replace(":", "-") + ".sig")
            self.assertEqual(len(sig["layers"]), 1, digest)
            _, index = reg.manifest(digest.replace(":", "-"))
            self.assertEqual(len(index["manifests"]), 1, digest)
        self.assertEqual(again["signer"], self.signed["signer"])

    # --- finalize and the notes' ImageVerificationConfig -------------------------------
    def finalize(self, pub, key):
        """finalize of a dir: release whose one asset `key` signed, naming the signed installer."""
        root = os.path.join(self.tmp, "release-" + os.path.basename(key))
        if not os.path.isdir(root):
            asset = os.path.join(self.tmp, "metal-amd64.iso")
            with open(asset, "wb") as f:
                f.write(b"iso")
            run(SBPIPE, "upload-assets", "--tag", "v1.0.0", "--target", f"dir:{root}", "--sign-key", key, asset)
        ref = f"{self.host}/owner/installer:v1.0.0@{self.signed['digest']}"
        r = run(SBPIPE, "finalize", "--tag", "v1.0.0", "--target", f"dir:{root}", "--installer-ref", ref, "--plain-http",
                "--signing-pubkey", pub, check=False)
        return r, os.path.join(root, "v1.0.0", "release.json")

    def test_finalize_checks_the_installer_signature_and_writes_the_config(self):
        # Assets signed by the other key, the installer by the owner's: the installer is refused.
        r, _ = self.finalize(self.other_pub, self.other_key)
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"owner/installer@{self.signed['digest']} is not signed by --signing-pubkey {self.other_pub}",
                      r.stderr.decode())
        r, release = self.finalize(self.pub, self.key)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        with open(release) as f:
            notes = json.load(f)["notes"]
        block = notes.split("```yaml\n", 1)[1].split("```", 1)[0]
        self.check_image_verification_config(yaml.safe_load(block))

    def check_image_verification_config(self, doc):
        """The schema written from Talos's Go type, the rules of its Validate() (image_verification.go
        at ad8823176e75), the repository, and the key."""
        with open(os.path.join(HERE, "..", "support", "schemas", "talos", "imageverificationconfig-v1alpha1.json")) as f:
            jsonschema.Draft7Validator(json.load(f)).validate(doc)
        for i, rule in enumerate(doc["rules"]):
            self.assertTrue(rule.get("image"), f"rule {i}: imagePattern must be specified")
            self.assertNotIn("@", rule["image"])
            self.assertFalse(rule.get("skip") or rule.get("deny"))
            self.assertEqual([v for v in ("keyless", "publicKey") if v in rule], ["publicKey"])
            self.assertTrue(rule["publicKey"]["certificate"])
        self.assertEqual(doc["rules"][0]["image"], f"{self.host}/owner/installer")
        with open(self.pub) as f:
            self.assertEqual(doc["rules"][0]["publicKey"]["certificate"], f.read())
        # The rule's glob matches the installer as Talos matches (go-glob over registry/repository).
        self.assertTrue(talos_lookup.glob_match(doc["rules"][0]["image"], f"{self.host}/owner/installer"))

    # --- provenance -------------------------------------------------------------------
    def test_provenance_is_a_signed_slsa_statement_about_the_installer(self):
        with open(self.pub) as f:
            pem = "".join("            " + line for line in f)
        config = os.path.join(self.tmp, "provenance.yaml")
        with open(config, "w") as f:
            f.write(f"imager:\n  image: {self.host}/owner/installer:{{version}}\n  image_verification:\n    rules:\n"
                    f"      - image: {self.host}/owner/*\n        publicKey:\n          certificate: |\n{pem}")
        # plan takes only versions of a supported Talos line, and image tags of that version.
        self.push("owner/installer", "v1.14.0", self.key, *self.images.values())
        plan = run(SBPIPE, "plan", "--tag", "v1.14.0", "--config", config, "--pin-digests", "--plain-http", "--format", "json")
        plan_file = os.path.join(self.tmp, "plan.json")
        with open(plan_file, "wb") as f:
            f.write(plan.stdout)
        cert = os.path.join(self.tmp, "uki.pem")
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", os.path.join(self.tmp, "uki.key"), "-out", cert,
                "-days", "2", "-subj", "/CN=UKI")
        pushed = json.loads(run(SBPIPE, "push-installer", self.images["amd64"], "--ref", f"{self.host}/owner/provenance:v1.0.0",
                                "--plain-http", "--format", "json", "--sign-key", self.key, "--provenance-plan", plan_file,
                                "--provenance-uki-cert", cert, "--provenance-pcr-pubkey", self.rsa_pub,
                                "--provenance-release", "owner/talos-build@v1.0.0").stdout)
        bundles = self.bundles_of("owner/provenance", pushed["digest"])
        self.assertEqual(len(bundles), 2)
        statements = {}
        for path in bundles:
            r = self.node(self.pub, path)
            self.assertEqual(r.stdout.decode().strip(), "ok", r.stderr.decode())
            with open(path) as f:
                statement = json.loads(base64.b64decode(json.load(f)["dsseEnvelope"]["payload"]))
            statements[statement["predicateType"]] = statement
        slsa = statements["https://slsa.dev/provenance/v1"]
        self.assertEqual(slsa["subject"][0]["digest"]["sha256"], pushed["digest"].split(":")[1])
        build = slsa["predicate"]["buildDefinition"]
        imager = json.loads(plan.stdout)["invocations"][0]["image"]
        self.assertEqual(build["resolvedDependencies"][0]["digest"]["sha256"], imager.split("@sha256:")[1])
        self.assertEqual(build["resolvedDependencies"][0]["name"], "imager image")
        self.assertIn("lockdown=integrity", build["externalParameters"]["kernelArgs"])
        self.assertEqual(build["externalParameters"]["release"], "owner/talos-build@v1.0.0")
        der = run("openssl", "x509", "-in", cert, "-outform", "DER").stdout
        self.assertEqual(build["internalParameters"]["ukiSigningCertificateSha256"], hashlib.sha256(der).hexdigest())
        spki = run("openssl", "pkey", "-pubin", "-in", self.rsa_pub, "-outform", "DER").stdout
        self.assertEqual(build["internalParameters"]["pcrPublicKeySha256"], hashlib.sha256(spki).hexdigest())
        self.assertTrue(slsa["predicate"]["runDetails"]["builder"]["version"]["sbpipe"])
        with open(self.pub, "rb") as f:
            ok, how = talos_lookup.verify_image(self.reg("owner/provenance"), pushed["digest"], f.read())
        self.assertTrue(ok, how)

    # --- sigstore-js ------------------------------------------------------------------
    def bundles_of(self, repo, digest):
        reg = self.reg(repo)
        media, index = reg.manifest(digest.replace(":", "-"))
        self.assertEqual(media, talos_lookup.OCI_INDEX)
        out = []
        for entry in index["manifests"]:
            _, manifest = reg.manifest(entry["digest"])
            self.assertEqual(manifest["subject"]["digest"], digest)
            for layer in manifest["layers"]:
                path = os.path.join(self.tmp, layer["digest"].replace(":", "-") + ".sigstore.json")
                with open(path, "wb") as f:
                    f.write(reg.blob(layer["digest"]))
                out.append(path)
        return out

    def node(self, *args):
        return run("node", os.path.join(JS, "verify_bundle.js"), *args, check=False)

    def test_sigstore_js_verifies_every_installer_bundle(self):
        cases = [("owner/installer", self.signed["digest"], self.pub), ("owner/rsa", self.rsa_signed["digest"], self.rsa_pub)]
        cases += [("owner/installer", d, self.pub) for d in self.arch_digests("owner/installer", self.signed["digest"]).values()]
        for repo, digest, pub in cases:
            bundles = self.bundles_of(repo, digest)
            self.assertEqual(len(bundles), 1)
            with self.subTest(digest=digest):
                r = self.node(pub, bundles[0])
                self.assertEqual(r.returncode, 0, r.stdout.decode() + r.stderr.decode())
                self.assertEqual(r.stdout.decode().strip(), "ok")
                r = self.node(self.other_pub, bundles[0])
                self.assertEqual(r.returncode, 1, r.stdout.decode() + r.stderr.decode())
                self.assertIn("refused: PUBLIC_KEY_ERROR", r.stdout.decode())
                # The statement names the image: sigstore-js checks the signature, this the subject.
                with open(bundles[0]) as f:
                    statement = json.loads(base64.b64decode(json.load(f)["dsseEnvelope"]["payload"]))
                self.assertEqual(statement["subject"][0]["digest"]["sha256"], digest.split(":")[1])
                self.assertEqual(statement["predicateType"], "https://sigstore.dev/cosign/sign/v1")


class SignedRelease(unittest.TestCase):
    TAG = "v1.0.0"

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="sbpipe-release-sig-")
        cls.key, cls.pub = os.path.join(cls.tmp, "k.pem"), os.path.join(cls.tmp, "k.pub")
        cls.other_key, cls.other_pub = os.path.join(cls.tmp, "o.pem"), os.path.join(cls.tmp, "o.pub")
        for key, pub in ((cls.key, cls.pub), (cls.other_key, cls.other_pub)):
            openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key)
            openssl("ec", "-in", key, "-pubout", "-out", pub)
        cls.files = []
        for name, size in (("metal-amd64.iso", 300000), ("vmlinuz-amd64", 1000), ("cmdline-metal-amd64", 20)):
            path = os.path.join(cls.tmp, name)
            with open(path, "wb") as f:
                f.write(secrets.token_bytes(size))
            cls.files.append(path)
        cls.root = os.path.join(cls.tmp, "published")
        cls.upload(cls.root, cls.key)
        cls.release = os.path.join(cls.root, cls.TAG)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def upload(cls, root, key):
        r = run(SBPIPE, "upload-assets", "--tag", cls.TAG, "--target", f"dir:{root}", "--sign-key", key, "--format", "json",
                *cls.files, check=False)
        if r.returncode != 0:
            raise AssertionError(f"upload-assets failed: {r.stderr.decode(errors='replace')}")
        return json.loads(r.stdout)

    def node(self, *args):
        return run("node", os.path.join(JS, "verify_bundle.js"), *args, check=False)

    def verify_release(self, directory, pub):
        return run(SBPIPE, "verify-release", directory, "--key", pub, check=False)

    def copy_release(self, name):
        target = os.path.join(self.tmp, name)
        shutil.copytree(self.release, target)
        return target

    def test_every_file_and_checksum_file_has_a_bundle_sigstore_js_accepts(self):
        with open(os.path.join(self.release, "sha256sum.txt")) as f:
            listed = {line.split()[1] for line in f}
        names = [os.path.basename(p) for p in self.files]
        for name in names:
            self.assertIn(name + ".sigstore.json", listed)
        for name in names + ["sha256sum.txt", "sha512sum.txt"]:
            with self.subTest(name=name):
                bundle = os.path.join(self.release, name + ".sigstore.json")
                r = self.node(self.pub, bundle, os.path.join(self.release, name))
                self.assertEqual(r.stdout.decode().strip(), "ok", r.stderr.decode())
                r = self.node(self.other_pub, bundle, os.path.join(self.release, name))
                self.assertEqual(r.returncode, 1)

    def test_verify_release_agrees_with_sigstore_js(self):
        r = self.verify_release(self.release, self.pub)
        self.assertEqual(r.returncode, 0, r.stdout.decode() + r.stderr.decode())
        self.assertNotIn("FAIL", r.stdout.decode())
        r = self.verify_release(self.release, self.other_pub)
        self.assertEqual(r.returncode, 1)
        self.assertIn("does not verify with the key", r.stdout.decode())
        # A tampered asset: its bundle no longer matches, for both judges.
        tampered = self.copy_release("tampered")
        with open(os.path.join(tampered, "vmlinuz-amd64"), "r+b") as f:
            f.write(b"X")
        r = self.verify_release(tampered, self.pub)
        self.assertEqual(r.returncode, 1)
        self.assertIn("vmlinuz-amd64", r.stdout.decode())
        js = self.node(self.pub, os.path.join(tampered, "vmlinuz-amd64.sigstore.json"), os.path.join(tampered, "vmlinuz-amd64"))
        self.assertEqual(js.returncode, 1, js.stdout.decode())
        # A missing bundle.
        missing = self.copy_release("missing")
        os.remove(os.path.join(missing, "metal-amd64.iso.sigstore.json"))
        r = self.verify_release(missing, self.pub)
        self.assertEqual(r.returncode, 1)
        self.assertIn("metal-amd64.iso.sigstore.json", r.stdout.decode())

    def test_finalize_checks_the_bundles(self):
        root = os.path.join(self.tmp, "finalize")
        self.upload(root, self.key)
        d = os.path.join(root, self.TAG)
        os.remove(os.path.join(d, "sha512sum.txt.sigstore.json"))
        r = run(SBPIPE, "finalize", "--tag", self.TAG, "--target", f"dir:{root}", "--signing-pubkey", self.pub, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("sha512sum.txt has no signature (sha512sum.txt.sigstore.json is missing)", r.stderr.decode())
        self.upload(root, self.key)  # puts it back
        r = run(SBPIPE, "finalize", "--tag", self.TAG, "--target", f"dir:{root}", "--signing-pubkey", self.other_pub, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("does not verify with the key", r.stderr.decode())
        r = run(SBPIPE, "finalize", "--tag", self.TAG, "--target", f"dir:{root}", "--signing-pubkey", self.pub, check=False)
        self.assertEqual(r.returncode, 0, r.stderr.decode())

    def test_rerun_changes_nothing(self):
        root = os.path.join(self.tmp, "rerun")
        self.upload(root, self.key)
        again = self.upload(root, self.key)
        self.assertEqual({a["result"] for a in again["assets"]}, {"unchanged"}, again)


def cosign_encrypted_key(path, pub_path, passphrase):
    """An EC P-256 key in cosign's "ENCRYPTED COSIGN PRIVATE KEY" format, which containers/image
    reads (signature/sigstore/copied.go, loadPrivateKey): PKCS#8 DER sealed by
    go-securesystemslib's encrypted package: scrypt (N=32768, r=8, p=1, 32-byte salt) then NaCl
    secretbox (24-byte nonce), as JSON with base64 byte fields."""
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    salt, nonce = secrets.token_bytes(32), secrets.token_bytes(24)
    box_key = hashlib.scrypt(passphrase, salt=salt, n=32768, r=8, p=1, dklen=32, maxmem=64 * 1024 * 1024)
    sealed = nacl.secret.SecretBox(box_key).encrypt(der, nonce).ciphertext
    doc = {"kdf": {"name": "scrypt", "params": {"N": 32768, "r": 8, "p": 1}, "salt": base64.b64encode(salt).decode()},
           "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
           "ciphertext": base64.b64encode(sealed).decode()}
    body = base64.encodebytes(json.dumps(doc).encode()).decode()
    with open(path, "w") as f:
        f.write("-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n" + body + "-----END ENCRYPTED COSIGN PRIVATE KEY-----\n")
    with open(pub_path, "wb") as f:
        f.write(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return key


class InputCheckAgainstSkopeo(unittest.TestCase):
    """sbpipe's input check accepts what containers/image signs, and refuses the rest."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="sbpipe-inputs-")
        cls.registry = Registry(os.path.join(cls.tmp, "registry"))
        cls.host = f"127.0.0.1:{cls.registry.port}"
        cls.key, cls.pub = os.path.join(cls.tmp, "cosign.key"), os.path.join(cls.tmp, "cosign.pub")
        cls.other_key, cls.other_pub = os.path.join(cls.tmp, "other.key"), os.path.join(cls.tmp, "other.pub")
        cls.passfile = os.path.join(cls.tmp, "pass")
        with open(cls.passfile, "w") as f:
            f.write("test-passphrase")
        cls.private = {cls.key: cosign_encrypted_key(cls.key, cls.pub, b"test-passphrase"),
                       cls.other_key: cosign_encrypted_key(cls.other_key, cls.other_pub, b"test-passphrase")}
        cls.layout = oci_layout(os.path.join(cls.tmp, "imager"), "amd64", "imager")
        cls.regd = os.path.join(cls.tmp, "registries.d")
        os.makedirs(cls.regd)
        with open(os.path.join(cls.regd, "sbpipe.yaml"), "w") as f:
            f.write(f"docker:\n  {cls.host}:\n    use-sigstore-attachments: true\n")
        cls.skopeo_push("owner/imager", cls.key)
        cls.skopeo_push("owner/other-key", cls.other_key)
        cls.skopeo_push("owner/unsigned", None)
        cls.skopeo_push("owner/tampered", cls.key)

    @classmethod
    def tearDownClass(cls):
        cls.registry.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def skopeo_push(cls, repo, key):
        args = ["skopeo", "copy", "--insecure-policy", "--registries.d", cls.regd, "--dest-tls-verify=false"]
        dest = f"docker://{cls.host}/{repo}:v1.9.0"
        if key and real_skopeo_judges() is not False:
            r = run(*args, "--sign-by-sigstore-private-key", key, "--sign-passphrase-file", cls.passfile,
                    f"oci:{cls.layout}", dest, check=False)
            if real_skopeo_judges(r.stderr.decode(errors="replace")):
                if r.returncode != 0:
                    raise AssertionError(f"skopeo copy --sign-by-sigstore-private-key: {r.stderr.decode(errors='replace')}")
                return
        run(*args, f"oci:{cls.layout}", dest)
        if key:
            # containers/image's signer as modelled (Debian's skopeo cannot sign).
            reg = talos_lookup.Registry(f"http://{cls.host}", repo)
            _, body = reg._get("manifests/v1.9.0", talos_lookup.ACCEPT, talos_lookup.MAX_MANIFEST)
            containers_image.sign_like_skopeo(f"http://{cls.host}", repo, "v1.9.0", body, cls.private[key], cls.host)

    def plan(self, repo, pub):
        with open(pub) as f:
            pem = "".join("            " + line for line in f)
        config = os.path.join(self.tmp, f"{repo.replace('/', '-')}.yaml")
        with open(config, "w") as f:
            f.write(f"imager:\n  image: {self.host}/{repo}:{{version}}\n  image_verification:\n    rules:\n"
                    f"      - image: {self.host}/owner/*\n        publicKey:\n          certificate: |\n{pem}")
        return run(SBPIPE, "plan", "--tag", "v1.9.0", "--config", config, "--pin-digests", "--plain-http", check=False)

    def test_accepts_what_skopeo_signed(self):
        r = self.plan("owner/imager", self.pub)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        self.assertIn("verified: a cosign signature in the cosign tag sha256-<hex>.sig", r.stderr.decode())

    def test_refuses_the_rest(self):
        for repo, pub, why in (("owner/other-key", self.pub, "the cosign signature does not verify with the key"),
                               ("owner/imager", self.other_pub, "the cosign signature does not verify with the key"),
                               ("owner/unsigned", self.pub, "no signature found")):
            with self.subTest(repo=repo):
                r = self.plan(repo, pub)
                self.assertEqual(r.returncode, 1, r.stderr.decode(errors="replace"))
                err = r.stderr.decode(errors="replace")
                self.assertIn(f"imager image {self.host}/{repo}:v1.9.0@sha256:", err)
                self.assertIn(f"rule 0 ({self.host}/owner/*): signature check failed: {why}", err)
                self.assertEqual(r.stdout, b"")

    def run_with_rules(self, repo):
        """`sbpipe run` whose imager image is `repo`'s, under a rule for the key: imager is a shell
        that touches a marker file, so that the marker says whether imager was started."""
        work = tempfile.mkdtemp(dir=self.tmp)
        keys = os.path.join(work, "keys")
        make_owner_keys(keys)
        with open(self.pub) as f:
            pem = "".join("            " + line for line in f)
        marker = os.path.join(work, "imager-started")
        config = os.path.join(work, "sbpipe.yaml")
        with open(config, "w") as f:
            f.write(f"imager:\n  image: {self.host}/{repo}:{{version}}\n  image_verification:\n    rules:\n"
                    f"      - image: {self.host}/owner/*\n        publicKey:\n          certificate: |\n{pem}"
                    f"run:\n  repo: owner/talos-build\n  target: dir:{work}/published\n  state_dir: {work}/state\n"
                    f"  keys_dir: {keys}\n  imager_command: [/bin/sh, -c, 'touch $0', {marker}, '{{args}}']\n  imager_output: '{{out}}'\n"
                    f"  plain_http: true\n")
        r = run(SBPIPE, "run", "--tag", "v1.9.0", "--config", config, check=False, timeout=300)
        return r, os.path.exists(marker)

    def test_run_checks_the_inputs_before_imager(self):
        r, started = self.run_with_rules("owner/unsigned")
        err = r.stderr.decode(errors="replace")
        self.assertEqual(r.returncode, 1, err)
        self.assertIn(f"imager image {self.host}/owner/unsigned:v1.9.0@sha256:", err)
        self.assertIn(f"rule 0 ({self.host}/owner/*): signature check failed: no signature found", err)
        self.assertFalse(started, "imager was started on an image whose signature failed its rule")
        # What skopeo signed passes, and imager is started on it (the marker "imager" then writes no
        # output, which fails the run later).
        r, started = self.run_with_rules("owner/imager")
        err = r.stderr.decode(errors="replace")
        self.assertIn("verified: a cosign signature in the cosign tag sha256-<hex>.sig", err)
        self.assertTrue(started, err)

    def test_refuses_a_tampered_signature(self):
        reg = talos_lookup.Registry(f"http://{self.host}", "owner/tampered")
        _, body = reg._get("manifests/v1.9.0", talos_lookup.ACCEPT, talos_lookup.MAX_MANIFEST)
        digest = sha256(body)
        tag = digest.replace(":", "-") + ".sig"
        _, sig = reg.manifest(tag)
        annotations = sig["layers"][0]["annotations"]
        raw = bytearray(base64.b64decode(annotations["dev.cosignproject.cosign/signature"]))
        raw[-1] ^= 1
        annotations["dev.cosignproject.cosign/signature"] = base64.b64encode(bytes(raw)).decode()
        req = urllib.request.Request(f"http://{self.host}/v2/owner/tampered/manifests/{tag}", data=json.dumps(sig).encode(),
                                     method="PUT", headers={"Content-Type": talos_lookup.OCI_MANIFEST})
        urllib.request.urlopen(req).close()
        r = self.plan("owner/tampered", self.pub)
        self.assertEqual(r.returncode, 1, r.stderr.decode(errors="replace"))
        self.assertIn("signature check failed: the cosign signature does not verify", r.stderr.decode())


def main():
    global SBPIPE
    if len(sys.argv) < 2:
        sys.exit("usage: test_signatures.py SBPIPE")
    SBPIPE = sys.argv.pop(1)
    keyless_inputs.SBPIPE = SBPIPE
    missing = [t for t in ("skopeo", "docker-registry", "openssl", "node") if shutil.which(t) is None]
    if not os.path.isdir(os.path.join(JS, "node_modules", "@sigstore", "verify")):
        missing.append("tests/signatures/js/node_modules (npm ci)")
    if missing:
        sys.exit(f"signatures: missing {', '.join(missing)} (scripts/setup installs them)")
    unittest.main(verbosity=2)


if __name__ == "__main__":
    main()

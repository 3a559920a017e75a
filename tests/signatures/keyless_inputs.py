"""sbpipe's keyless input check against sigstore-js (issue 26), run by test_signatures.py.

A test Fulcio CA and Rekor key (sigstore_fixture.py) sign an imager image by hand, in a bundle at
the sha256-<hex> tag (Debian's registry has no referrers API) or in a legacy cosign .sig layer;
`sbpipe plan --pin-digests` with a keyless rule of imager.image_verification must accept exactly
the signatures sigstore-js (@sigstore/verify, tests/signatures/js/verify_keyless.js, against the
same trusted_root.json and identity) accepts, and refuse the rest naming the image, the rule and
the reason: wrong identity, wrong issuer, a leaf not under the CA, a SET by another key, a
signature that does not verify over the image, an integrated time outside the leaf's validity, a
log entry of another signature, an inclusion proof that does not lead to the checkpoint's root, a leaf without an SCT of a CT log
of the trusted root.
sigstore-js cannot judge a bad trusted_root.json as a file sbpipe reads; that is a unit test."""

import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
import unittest

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "boot"))
from tools import Registry, run  # noqa: E402
import oci_push  # noqa: E402
import sigstore_fixture as sf  # noqa: E402

SBPIPE = None  # set by test_signatures.main
JS = os.path.join(HERE, "js")
OCI_MANIFEST = oci_push.OCI_MANIFEST
EMAIL = "release@example.test"
ISSUER = "https://issuer.test"


sha256 = oci_push.sha256


class KeylessInputCheck(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="sbpipe-keyless-")
        cls.registry = Registry(os.path.join(cls.tmp, "registry"))
        cls.host = f"127.0.0.1:{cls.registry.port}"
        cls.base = f"http://{cls.host}"
        now = int(time.time())
        cls.t0 = now - 86400
        year = 365 * 86400
        cls.ca = sf.CA("Fulcio test", cls.t0 - year, cls.t0 + year)
        cls.rogue = sf.CA("Rogue", cls.t0 - year, cls.t0 + year)
        cls.log = sf.Log()
        cls.ct = sf.CTLog()
        cls.root = os.path.join(cls.tmp, "trusted_root.json")
        with open(cls.root, "w") as f:
            json.dump(sf.trusted_root([cls.ca], [cls.log], [cls.ct], cls.t0 - year), f)
        cls.manifest = cls.push_image("keyless/image")
        cls.digest = sha256(cls.manifest)
        cls.artifact = os.path.join(cls.tmp, "manifest.json")
        with open(cls.artifact, "wb") as f:
            f.write(cls.manifest)
        cls.cases = {}
        cls.make_cases()

    @classmethod
    def tearDownClass(cls):
        cls.registry.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # --- registry ----------------------------------------------------------------------------
    @classmethod
    def put_blob(cls, repo, data):
        return oci_push.put_blob(cls.base, repo, data)

    @classmethod
    def put_manifest(cls, repo, reference, body):
        oci_push.put_manifest(cls.base, repo, reference, body)

    @classmethod
    def push_image(cls, repo):
        config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
        layer = b"imager image of the keyless test"
        manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                               "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                          **cls.put_blob(repo, config)},
                               "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                           **cls.put_blob(repo, layer)}]}).encode()
        cls.put_manifest(repo, "v1.9.0", manifest)
        return manifest

    @classmethod
    def push_bundle(cls, repo, bundle):
        """The image (same bytes, same digest) and a bundle at its sha256-<hex> tag."""
        cls.push_image(repo)
        data = json.dumps(bundle).encode()
        empty = cls.put_blob(repo, b"{}")
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": sf.BUNDLE_V03,
                    "config": {"mediaType": "application/vnd.oci.empty.v1+json", **empty},
                    "layers": [{"mediaType": sf.BUNDLE_V03, **cls.put_blob(repo, data)}]}
        cls.put_manifest(repo, cls.digest.replace(":", "-"), json.dumps(manifest).encode())

    @classmethod
    def push_legacy(cls, repo, payload, signature, leaf, entry):
        cls.push_image(repo)
        config = cls.put_blob(repo, json.dumps({"architecture": "", "os": "", "config": {},
                                                "rootfs": {"type": "layers", "diff_ids": [sha256(payload)]}}).encode())
        chain = (sf.pem(cls.ca.intermediate) + sf.pem(cls.ca.root)).decode()
        layer = {"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json", **cls.put_blob(repo, payload),
                 "annotations": {"dev.cosignproject.cosign/signature": sf.b64(signature),
                                 "dev.sigstore.cosign/certificate": sf.pem(leaf).decode(),
                                 "dev.sigstore.cosign/chain": chain}}
        if entry is not None:
            layer["annotations"]["dev.sigstore.cosign/bundle"] = sf.cosign_rekor_bundle(entry)
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config}, "layers": [layer]}
        cls.put_manifest(repo, cls.digest.replace(":", "-") + ".sig", json.dumps(manifest).encode())

    # --- the signatures ----------------------------------------------------------------------
    @classmethod
    def keyless(cls, name, ca=None, sign_over=None, integrated=None, set_signer=None, logged_signature=None,
                proof_size=9, log_index=7, break_proof=False, sct=True, sct_signer=None, eku=None):
        """A bundle over the image by a fresh leaf of `ca`, pushed to keyless/<name>; kept with
        its file for sigstore-js."""
        ca = ca or cls.ca
        key = ec.generate_private_key(ec.SECP256R1())
        leaf = ca.leaf(key, EMAIL, ISSUER, cls.t0, cls.t0 + 600, cls.ct if sct else None, sct_signer,
                       eku or ExtendedKeyUsageOID.CODE_SIGNING)
        signature = sf.ecdsa_sign(key, sign_over or cls.manifest)
        body = sf.hashedrekord_body(cls.digest.split(":")[1], logged_signature or signature, leaf)
        entry = sf.tlog_entry(cls.log, body, integrated or cls.t0 + 60, log_index, set_signer, proof_size)
        if break_proof:
            entry["inclusionProof"]["hashes"][0] = sf.b64(hashlib.sha256(b"not the sibling").digest())
        bundle = sf.message_bundle(leaf, bytes.fromhex(cls.digest.split(":")[1]), signature, [entry])
        cls.publish(name, bundle)

    @classmethod
    def publish(cls, name, bundle):
        """Pushes the image and `bundle` to keyless/<name>; keeps the bundle's file for sigstore-js."""
        cls.push_bundle(f"keyless/{name}", bundle)
        path = os.path.join(cls.tmp, f"{name}.bundle.json")
        with open(path, "w") as f:
            json.dump(bundle, f)
        cls.cases[name] = (path, cls.artifact)

    @classmethod
    def keyless_dsse(cls, name, subject_digest):
        """A DSSE bundle as cosign v3 signs an image (an in-toto statement with the image as its
        subject, predicate cosign/sign/v1) logged as a dsse entry."""
        key = ec.generate_private_key(ec.SECP256R1())
        leaf = cls.ca.leaf(key, EMAIL, ISSUER, cls.t0, cls.t0 + 600, cls.ct)
        payload = json.dumps({"_type": "https://in-toto.io/Statement/v1",
                              "subject": [{"name": "", "digest": {"sha256": subject_digest.split(":")[1]}}],
                              "predicateType": "https://sigstore.dev/cosign/sign/v1", "predicate": {}}).encode()
        signature = sf.ecdsa_sign(key, sf.pae("application/vnd.in-toto+json", payload))
        bundle = sf.dsse_bundle(leaf, payload, signature, [])
        envelope = json.dumps(bundle["dsseEnvelope"], sort_keys=True, separators=(",", ":")).encode()
        body = sf.dsse_body(payload, envelope, signature, leaf)
        bundle["verificationMaterial"]["tlogEntries"] = [sf.tlog_entry(cls.log, body, cls.t0 + 60, 5, None, 8)]
        cls.publish(name, bundle)

    @classmethod
    def make_cases(cls):
        cls.keyless("good")
        cls.keyless("proof5", proof_size=5, log_index=2)
        cls.keyless("noproof", proof_size=0)
        cls.keyless("rogue", ca=cls.rogue)
        cls.keyless("otherlog", set_signer=ec.generate_private_key(ec.SECP256R1()))
        cls.keyless("badsig", sign_over=b"not the image manifest")
        cls.keyless("late", integrated=cls.t0 + 3600)
        cls.keyless("otherbody", logged_signature=sf.ecdsa_sign(ec.generate_private_key(ec.SECP256R1()), cls.manifest))
        cls.keyless("badproof", proof_size=6, log_index=3, break_proof=True)
        cls.keyless("nosct", sct=False)
        cls.keyless("servereku", eku=ExtendedKeyUsageOID.SERVER_AUTH)
        cls.keyless("badsct", sct_signer=ec.generate_private_key(ec.SECP256R1()))
        cls.keyless_dsse("dsse", cls.digest)
        cls.keyless_dsse("dsse-other", sha256(b"another image"))
        cls.keyless_legacy("legacy", with_log=True)
        cls.keyless_legacy("legacy-nolog", with_log=False)

    @classmethod
    def keyless_legacy(cls, name, with_log):
        """A legacy .sig layer with the certificate and (with_log) the Rekor bundle annotation; judged
        by sigstore-js as the equivalent v0.1 bundle over the payload."""
        repo = f"keyless/{name}"
        payload = json.dumps({"critical": {"identity": {"docker-reference": f"{cls.host}/{repo}"},
                                           "image": {"docker-manifest-digest": cls.digest},
                                           "type": "cosign container image signature"}, "optional": None},
                             separators=(",", ":")).encode()
        key = ec.generate_private_key(ec.SECP256R1())
        leaf = cls.ca.leaf(key, EMAIL, ISSUER, cls.t0, cls.t0 + 600, cls.ct)
        signature = sf.ecdsa_sign(key, payload)
        body = sf.hashedrekord_body(hashlib.sha256(payload).hexdigest(), signature, leaf)
        entry = sf.tlog_entry(cls.log, body, cls.t0 + 60)
        cls.push_legacy(repo, payload, signature, leaf, entry if with_log else None)
        bundle = sf.legacy_as_bundle(leaf, payload, signature, entry)
        if not with_log:
            bundle["verificationMaterial"]["tlogEntries"] = []
        path, artifact = os.path.join(cls.tmp, f"{name}.bundle.json"), os.path.join(cls.tmp, f"{name}.payload")
        with open(path, "w") as f:
            json.dump(bundle, f)
        with open(artifact, "wb") as f:
            f.write(payload)
        cls.cases[name] = (path, artifact)

    # --- the two judges ----------------------------------------------------------------------
    def plan(self, name, issuer=ISSUER, subject=EMAIL, subject_regex=None, root=None):
        identity = f"subjectRegex: '{subject_regex}'" if subject_regex else f"subject: {subject}"
        config = os.path.join(self.tmp, f"{name}.yaml")
        with open(config, "w") as f:
            f.write(f"imager:\n  image: {self.host}/keyless/{name}:{{version}}\n  image_verification:\n"
                    f"    trusted_root: {root or self.root}\n    rules:\n      - image: {self.host}/keyless/*\n"
                    f"        keyless:\n          issuer: {issuer}\n          {identity}\n")
        r = run(SBPIPE, "plan", "--tag", "v1.9.0", "--config", config, "--pin-digests", "--plain-http", check=False)
        return r.returncode, r.stderr.decode(errors="replace")

    def sigstore_js(self, name, issuer=ISSUER, subject_regex=None):
        bundle, artifact = self.cases[name]
        r = run("node", os.path.join(JS, "verify_keyless.js"), self.root, bundle, artifact, issuer,
                subject_regex or "^" + re.escape(EMAIL) + "$", check=False)
        return r.returncode, r.stdout.decode(errors="replace").strip() + r.stderr.decode(errors="replace")

    def assert_both_accept(self, name, where, **rule):
        js_rule = {k: v for k, v in rule.items() if k != "subject"}
        code, out = self.sigstore_js(name, **js_rule)
        self.assertEqual(code, 0, f"sigstore-js refused {name}: {out}")
        code, err = self.plan(name, **rule)
        self.assertEqual(code, 0, f"sbpipe refused {name}: {err}")
        self.assertIn(f"verified: a keyless {where}", err)

    def assert_both_refuse(self, name, why, js_why, subject=None, **rule):
        code, out = self.sigstore_js(name, subject_regex=("^" + re.escape(subject) + "$") if subject else None, **rule)
        self.assertEqual(code, 1, f"sigstore-js accepted {name}: {out}")
        self.assertIn(js_why, out)
        code, err = self.plan(name, subject=subject or EMAIL, **rule)
        self.assertEqual(code, 1, f"sbpipe accepted {name}: {err}")
        self.assertIn(f"imager image {self.host}/keyless/{name}:v1.9.0@{self.digest}: "
                      f"rule 0 ({self.host}/keyless/*): signature check failed: {why}", err)

    def test_accepts_what_sigstore_js_accepts(self):
        self.assert_both_accept("good", "sigstore bundle in the bundle tag sha256-<hex>")
        self.assert_both_accept("good", "sigstore bundle in the bundle tag sha256-<hex>",
                                subject_regex=r"@example\.test$")
        self.assert_both_accept("proof5", "sigstore bundle in the bundle tag sha256-<hex>")
        self.assert_both_accept("legacy", "cosign signature in the cosign tag sha256-<hex>.sig")
        self.assert_both_accept("dsse", "sigstore bundle in the bundle tag sha256-<hex>")

    def test_refuses_a_leaf_not_for_code_signing(self):
        # sigstore-js does not look at the extended key usage; sigstore-go's CA check (Go's
        # x509.Verify with KeyUsages [CodeSigning], as Talos runs it) refuses a serverAuth-only leaf.
        code, out = self.sigstore_js("servereku")
        self.assertEqual(code, 0, out)
        code, err = self.plan("servereku")
        self.assertEqual(code, 1, err)
        self.assertIn("signature check failed: the certificate is not for code signing (no code-signing extended key "
                      "usage)", err)

    def test_refuses_a_statement_about_another_image(self):
        # sigstore-js checks the envelope, not what it says: sigstore-go's artifact-digest policy
        # (WithArtifactDigest, as Talos asks) compares the statement's subjects. Both judges see a
        # valid signature; sbpipe, as Talos, refuses it for this image.
        code, out = self.sigstore_js("dsse-other")
        self.assertEqual(code, 0, out)
        code, err = self.plan("dsse-other")
        self.assertEqual(code, 1, err)
        self.assertIn(f"signature check failed: sigstore bundle: the statement's subjects do not include {self.digest}", err)

    def test_refuses_another_identity(self):
        self.assert_both_refuse("good", "the certificate's subject [release@example.test] does not match subject "
                                "someone@example.test", "certificate identity error", subject="someone@example.test")
        self.assert_both_refuse("good", "the certificate's OIDC issuer is https://issuer.test, the rule wants "
                                "https://accounts.google.com", "invalid certificate extension",
                                issuer="https://accounts.google.com")

    def test_refuses_a_leaf_outside_the_trusted_root(self):
        self.assert_both_refuse("rogue", "the certificate does not chain to the certificate authority",
                                "Failed to verify certificate chain")

    def test_refuses_a_set_by_another_key(self):
        self.assert_both_refuse("otherlog", "no transparency-log entry verifies: transparency-log entry: the signed "
                                "entry timestamp does not verify with the log's key",
                                "inclusion promise could not be verified")

    def test_refuses_a_certificate_without_a_valid_sct(self):
        self.assert_both_refuse("nosct", "the certificate carries no signed certificate timestamp (SCT) of a CT log",
                                "expected 1 SCTs, got 0")
        self.assert_both_refuse("badsct", "no signed certificate timestamp verifies: the SCT does not verify with its "
                                "CT log's key", "SCT verification failed")

    def test_refuses_a_signature_that_does_not_verify(self):
        self.assert_both_refuse("badsig", "sigstore bundle: the signature does not verify with the key", "signature verification failed")

    def test_refuses_an_integrated_time_outside_the_leaf(self):
        self.assert_both_refuse("late", "the entry's integrated time", "certificate is not valid or expired")

    def test_refuses_a_log_entry_of_another_signature(self):
        self.assert_both_refuse("otherbody", "transparency-log entry: it logs another signature", "signature mismatch")

    def test_refuses_a_v03_bundle_without_an_inclusion_proof(self):
        # sigstore-go's bundle validate() and sigstore-js's bundle schema ask a v0.2+ bundle for one.
        self.assert_both_refuse("noproof", "sigstore bundle: a v0.3 bundle's transparency-log entries need an "
                                "inclusionProof", "invalid bundle")

    def test_refuses_a_legacy_signature_without_its_log_entry(self):
        # cosign would look the entry up in Rekor online; sbpipe checks offline and refuses.
        self.assert_both_refuse("legacy-nolog", "no transparency-log entry comes with the signature", "expected 1")

    def test_refuses_a_broken_inclusion_proof(self):
        self.assert_both_refuse("badproof", "transparency-log entry: the inclusion proof does not lead to its root hash",
                                "calculated root hash does not match")

    def test_names_a_trusted_root_it_cannot_use(self):
        bad = os.path.join(self.tmp, "bad_root.json")
        with open(self.root) as f:
            doc = json.load(f)
        del doc["tlogs"][0]["logId"]
        with open(bad, "w") as f:
            json.dump(doc, f)
        code, err = self.plan("good", root=bad)
        self.assertNotEqual(code, 0, err)
        self.assertIn(f"imager image {self.host}/keyless/good:v1.9.0@{self.digest}: rule 0 ({self.host}/keyless/*): "
                      f"{bad}: tlogs[0].logId: missing", err)

    def test_sigstore_js_accepts_the_production_bundle_sbpipe_accepts(self):
        # The same files tests/unit/test_keyless.cpp verifies with sbpipe's code: Sigstore's
        # production trusted root and a GitHub Actions release bundle (sigstore-python's assets).
        data = os.path.join(HERE, "data")
        args = ["node", os.path.join(JS, "verify_keyless.js"), os.path.join(data, "public-good-trusted_root.json"),
                os.path.join(data, "bundle_v3_github.whl.sigstore"), os.path.join(data, "bundle_v3_github.whl")]
        workflow = r"^https://github\.com/trailofbits/rfc8785\.py/\.github/workflows/release\.yml@refs/tags/v0\.1\.2$"
        r = run(*args, "https://token.actions.githubusercontent.com", workflow, check=False)
        self.assertEqual(r.returncode, 0, r.stdout.decode() + r.stderr.decode())
        r = run(*args, "https://accounts.google.com", workflow, check=False)
        self.assertEqual(r.returncode, 1, r.stdout.decode())

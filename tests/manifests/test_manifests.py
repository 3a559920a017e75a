#!/usr/bin/python3
"""The manifests test (ctest `manifests`): the shipped manifests pass
check_manifests.py, and each kind of mistake it exists to catch, planted in a
copy, makes it fail with the expected message.

usage: test_manifests.py SBPIPE_BINARY MANIFESTS_DIR SCHEMAS_DIR
"""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "check_manifests.py")

# (file, text to replace, replacement, expected message fragment)
MUTATIONS = [
    ("argo/talos-secureboot-build.yaml", "  podGC:\n", "  bogusField: 1\n  podGC:\n", "Additional properties are not allowed ('bogusField'"),
    ("argo/talos-secureboot-build.yaml", "              - {key: uki-signing-cert.pem, path: uki-signing-cert.pem}\n", "",
     "only imager may, others get the certificate alone"),
    ("argo/sbpipe-webhook.yaml", "image: ghcr.io/OWNER/sbpipe:0.1.0", "image: ghcr.io/OWNER/sbpipe:latest", "has no pinned tag"),
    ("argo/talos-secureboot-build.yaml", "          - --digest-file\n", "          - --digest-fil\n", "sbpipe rejects push-installer"),
    ("argo/sbpipe-webhook.yaml", "verbs: [create, get, list, watch]", "verbs: [create, get, list, watch, delete]",
     "the receiver's Role allows more than"),
    ("secrets/sbpipe-registry.yaml", "kind: OnePasswordItem", "kind: OnePasswordThing", "unknown kind onepassword.com/v1/OnePasswordThing"),
    ("argo/talos-secureboot-build.yaml", "secureboot_kernel_args: [-lockdown, lockdown=integrity]",
     "secureboot_kernel_args: [lockdown=integrity, -lockdown]", "lack -lockdown then lockdown=integrity"),
    ("argo/talos-secureboot-build.yaml", "          readOnlyRootFilesystem: true\n", "", "sbpipe must run non-root, read-only"),
    ("argo/sbpipe-webhook.yaml", "          resources:\n            requests: {cpu: 20m, memory: 24Mi}\n            limits: {cpu: 500m, memory: 128Mi}\n",
     "", "resources need requests and limits"),
    ("kustomization.yaml", "  - secrets/sbpipe-registry.yaml\n", "", "secrets/sbpipe-registry.yaml: not listed in kustomization.yaml"),
]


def run_check(sbpipe, manifests, schemas):
    return subprocess.run([CHECK, sbpipe, manifests, schemas], capture_output=True, text=True)


def main():
    sbpipe, manifests, schemas = sys.argv[1:4]
    failures = []
    clean = run_check(sbpipe, manifests, schemas)
    print(clean.stdout.strip())
    if clean.returncode != 0:
        failures.append("the shipped manifests fail the check")
    for path, old, new, expected in MUTATIONS:
        with tempfile.TemporaryDirectory() as tmp:
            copy = os.path.join(tmp, "manifests")
            shutil.copytree(manifests, copy)
            target = os.path.join(copy, path)
            with open(target) as f:
                text = f.read()
            if old not in text:
                failures.append(f"mutation anchor not found in {path}: {old!r}")
                continue
            with open(target, "w") as f:
                f.write(text.replace(old, new, 1))
            r = run_check(sbpipe, copy, schemas)
            if r.returncode == 0 or expected not in r.stdout:
                failures.append(f"planted mistake in {path} ({expected!r}) not caught:\n{r.stdout}")
            else:
                print(f"caught: {expected}")
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

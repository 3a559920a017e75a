#!/usr/bin/python3
"""The manifests test (ctest `manifests`): the shipped manifests pass
check_manifests.py, and each kind of mistake it exists to catch, planted in a
copy, makes it fail with the expected message. Among them, the mistakes the
first shipped manifests made on a real cluster: the Sensor's header filter,
its float release id, the ServiceAccount it lacked, the root imager without
runAsNonRoot: false, retries that never fired, images by tag.

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
T = "argo/talos-secureboot-build.yaml"
S = "overlays/argo-events/sensor.yaml"
R = "overlays/receiver/sbpipe-webhook.yaml"
MUTATIONS = [
    # schemas and kustomize
    (T, "  podGC:\n", "  bogusField: 1\n  podGC:\n", "Additional properties are not allowed ('bogusField'"),
    ("secrets/sbpipe-registry.yaml", "kind: OnePasswordItem", "kind: OnePasswordThing",
     "unknown kind onepassword.com/v1/OnePasswordThing"),
    ("secrets/kustomization.yaml", "  - sbpipe-registry.yaml\n", "", "secrets/sbpipe-registry.yaml: not used by any kustomization"),
    # the Sensor: the header filter as first shipped, the float release id, no retries, no dedupe
    (S, "path: body.X-GitHub-Event", "path: headers.X-Github-Event", "the filter drops the 'created' delivery"),
    (S, "                  {{- $name -}}\n                  {{- end -}}", "                  {{- $name -}}-{{ .Input.body.release.id }}\n                  {{- end -}}",
     "is not a valid name (the API answers 422)"),
    (S, "{{- $id := .Input.body.release.id | int64 -}}", "{{- $id := .Input.body.release.id -}}",
     "differs from sbpipe serve's 'talos-build-v1-9-0-123456789'"),
    (S, "                dataKey: body.release.id\n", "                dataTemplate: '{{ .Input.body.release.id }}'\n",
     "release-id parameter is '1.23456789e+08'"),
    (S, "^(created|prereleased|published)$", "^(created|prereleased|published|released)$",
     "the filter accepts the release action 'released'"),
    (S, "(printf \"%s-%s-%d\" (splitList \"/\" $repo | last) $tag $id | lower)",
     "(printf \"%s-%s-%d-%s\" (splitList \"/\" $repo | last) $tag $id .Input.body.action | lower)",
     "make different Workflow names"),
    (S, "      retryStrategy:\n        steps: 4\n", "      rateLimit:\n        requestsPerUnit: 4\n",
     "the trigger has no retryStrategy"),
    (S, "serviceAccountName: talos-build-sensor", "serviceAccountName: sbpipe-webhook",
     "ServiceAccount sbpipe-webhook is not in the overlay"),
    ("overlays/argo-events/kustomization.yaml", "  - eventsource.yaml\n", "",
     "EventSource talos-build-github is not in the overlay"),
    # Pod Security
    (T, "          runAsNonRoot: false\n", "", "imager runs as root but does not set runAsNonRoot: false"),
    (T, "SETUID, SYS_CHROOT]", "SETUID, SYS_CHROOT, SYS_ADMIN]", "not Pod Security baseline: Capabilities"),
    ("overlays/argo-events/eventsource.yaml", "        allowPrivilegeEscalation: false\n", "",
     "EventSource talos-build-github: not Pod Security restricted: Privilege Escalation"),
    (S, "      seccompProfile:\n        type: RuntimeDefault\n    container:", "    container:",
     "Sensor talos-build: not Pod Security restricted: Seccomp"),
    ("argo/namespace.yaml", "enforce: baseline", "enforce: restricted", "pod-security.kubernetes.io/enforce is not baseline"),
    # images and parameters
    ("images/kustomization.yaml", "    digest: sha256:0000000000000000000000000000000000000000000000000000000000000000\n",
     "    newTag: 0.1.0\n", "is not pinned by digest"),
    (T, "      - name: release-id         # the GitHub release id, on every pod as a label; pins the release\n        value: \"\"\n",
     "      - name: release-id\n        value: \"\"\n      - name: sbpipe-image\n        value: ghcr.io/owner/sbpipe:1\n",
     "Workflow parameter 'sbpipe-image' names an image"),
    (T, "--format, argo, --pin-digests,\n", "--format, argo,\n", "plan does not pin the imager image"),
    # keys
    (T, "              - {key: uki-signing-cert.pem, path: uki-signing-cert.pem}\n", "",
     "only SecureBoot imager pods may, others get the certificate alone"),
    (T, "          - --pcr-pubkey\n          - /pcr/pcr-signing-key.pub.pem\n", "", "verify does not check the PCR public key"),
    # the plan drives every step: the plan file, no selection in the template
    (T, "               --save, /work/plan.json]", "               --save, /tmp/plan.json]",
     "the plan step does not save the plan as /work/plan.json"),
    (T, "          - verify\n          - --plan\n          - /work/plan.json\n          - --out\n          - /work/out\n",
     "          - verify\n          - /work/out/metal-amd64-secureboot.iso\n",
     "verify does not act on --plan /work/plan.json --out /work/out"),
    (T, "        - - name: push-installer\n            template: push-installer\n",
     "        - - name: push-installer\n            template: push-installer\n            when: \"{{=1 == 1}}\"\n",
     "an expression tag"),
    (T, "          - upload-assets\n          - --plan\n          - /work/plan.json\n",
     "          - upload-assets\n          - /work/out/metal-amd64.iso\n          - --plan\n          - /work/plan.json\n",
     "upload-assets names files itself"),
    (T, "          - {name: workspace, mountPath: /out, subPath: out}\n          - {name: signing-keys",
     "          - {name: workspace, mountPath: /out, subPath: build}\n          - {name: signing-keys",
     "imager-signed: /out is not the workspace's out/"),
    # the image signing key: push-installer signs with it, and nothing else mounts it
    (T, "          - /work/out\n          - --sign-key\n          - /run/secrets/image-signing/image-signing-key.pem\n          - --ref",
     "          - /work/out\n          - --ref", "push-installer does not sign what it publishes"),
    (T, "          - /work/out\n          - --sign-key\n          - /run/secrets/image-signing/image-signing-key.pem\n          - --repo",
     "          - /work/out\n          - --repo", "upload-assets does not sign what it publishes"),
    (T, "          - --signing-pubkey\n          - /etc/sbpipe/image-signing-key.pub.pem\n", "",
     "finalize does not check the signatures"),
    (T, "            secretName: sbpipe-github-token\n            items:\n              - {key: token, path: token}\n        - name: registry-password",
     "            secretName: sbpipe-image-signing-key\n        - name: registry-password",
     "mounts the image signing key; only push-installer and upload-assets may"),
    (T, "          - --release-state\n          - \"{{workflow.parameters.release-state}}\"\n          - --github-token-file",
     "          - --github-token-file", "does not pin the release with --release-state"),
    (T, "          - --digest-file\n", "          - --digest-fil\n", "sbpipe rejects push-installer"),
    # retries
    (T, "        expression: \"asInt(lastRetry.exitCode) == 1\"   # 1 = failed (network); 2 = usage: not retried\n",
     "        expression: \"asInt(lastRetry.exitCode) >= 1\"\n", "retry expression 'asInt(lastRetry.exitCode) >= 1': write"),
    (T, "        expression: \"asInt(lastRetry.exitCode) == 1\"   # 1 = failed (network); 2 = usage: not retried\n",
     "        expression: \"asInt(lastRetry.exitCode) in [1, 2]\"\n", "retry expression retries exits [1, 2]"),
    (T, "      retryStrategy: &sbpipe-retry\n        limit: \"3\"\n        retryPolicy: OnFailure\n",
     "      retryStrategy: &sbpipe-retry\n        limit: \"3\"\n        retryPolicy: OnError\n",
     "retryPolicy OnError does not retry a failed main container"),
    (T, "      activeDeadlineSeconds: 1800\n      retryStrategy: &imager-retry\n", "      retryStrategy: &imager-retry\n",
     "imager has no activeDeadlineSeconds"),
    (T, " || asInt(lastRetry.exitCode) == 5 ||\n", " || asInt(lastRetry.exitCode) == 2 ||\n",
     "imager retry expression is True for exit 2"),
    (T, "        retryPolicy: Always\n        expression: >-\n", "        retryPolicy: Always\n        x-expression: >-\n",
     "imager retries every failure"),
    (T, "asInt(lastRetry.exitCode) == 137", "asInt(lastRetry.exitCode) > 100", "write a disjunction of"),
    # receiver
    (R, "verbs: [create, get, list, watch, patch]", "verbs: [create, get, list, watch, patch, delete]", "the receiver's Role allows more than"),
    (R, "          resources:\n            requests: {cpu: 20m, memory: 24Mi}\n            limits: {cpu: 500m, memory: 128Mi}\n",
     "", "resources need requests and limits"),
    (R, "            timeoutSeconds: 3\n", "", "livenessProbe has the default 1 s timeout"),
    (R, "              - {key: secret, path: secret}\n", "              - {key: secret, path: secret}\n        - name: extra\n          secret:\n            secretName: nowhere\n",
     "Secret nowhere is not in the overlay"),
]


def run_check(sbpipe, manifests, schemas):
    return subprocess.run([CHECK, sbpipe, manifests, schemas], capture_output=True, text=True)


def main():
    sbpipe, manifests, schemas = sys.argv[1:4]
    failures = []
    cache = tempfile.TemporaryDirectory()
    os.environ["SBPIPE_CHECK_CACHE"] = cache.name
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

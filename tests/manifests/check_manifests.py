#!/usr/bin/python3
"""Checks manifests/ the way a cluster and a reviewer would, on what each
overlay builds (`kubectl kustomize`, kustomize v5):

1. both overlays (overlays/receiver, overlays/argo-events) build; every
   manifest file is used by one; every object, the Workflow embedded in the
   Sensor and the Workflows the Sensor creates validate against the JSON
   schema of their kind (tests/support/schemas; an unknown kind fails);
2. references resolve within the overlay: ServiceAccounts, Secrets,
   ConfigMaps, volumes and PVC templates, Roles, WorkflowTemplate templates
   and parameters, EventSource events, Services (check_refs.py);
3. Pod Security (pss.py) on every pod the objects make, built as their
   controllers build them (pods.py): imager baseline, everything else
   restricted, with the Argo executor securityContext docs/argo.md gives;
4. policies (check_policy.py): images by digest, no image parameters, the
   signing keys only in SecureBoot imager pods, verify with the certificate
   and PCR public key only, retries only on exit 1, imager deadlines, the
   admission policy, the namespace labels, the receiver's Role;
5. the template run on paper for the shipped plan and a two-architecture
   plan (check_flow.py): every output verified and published, every sbpipe
   command line through the real parser (`sbpipe --validate-only`);
6. the Sensor against deliveries shaped as the EventSource emits them
   (check_sensor.py).

usage: check_manifests.py SBPIPE_BINARY MANIFESTS_DIR SCHEMAS_DIR
Needs kubectl (1.27+, for kustomize v5) on PATH or in $KUBECTL.
Prints every problem and exits 1 when there is any.
"""
import json
import os
import shutil
import subprocess
import sys

import jsonschema
import yaml

import check_flow
import check_policy
import check_refs
import check_sensor
import pods
import pss

HERE = os.path.dirname(os.path.abspath(__file__))
OVERLAYS = ("overlays/receiver", "overlays/argo-events")
problems = []


def problem(where, text):
    problems.append(f"{where}: {text}")


def kubectl():
    path = os.environ.get("KUBECTL") or shutil.which("kubectl")
    if not path:
        problem("kubectl", "not found: the manifests test needs kubectl 1.27+ (scripts/setup installs it)")
    return path


def build_overlay(kubectl_path, root, overlay):
    r = subprocess.run([kubectl_path, "kustomize", os.path.join(root, overlay)], capture_output=True, text=True)
    if r.returncode != 0:
        problem(overlay, f"kubectl kustomize fails: {r.stderr.strip()}")
        return []
    return [d for d in yaml.safe_load_all(r.stdout) if d is not None]


def manifest_files(root):
    out = []
    for dirpath, dirs, files in os.walk(root):
        if os.path.relpath(dirpath, root) == ".":
            # Not Kubernetes objects: tests/systemd and tests/monitoring (promtool) check them.
            dirs[:] = [d for d in dirs if d not in ("systemd", "monitoring")]
        out += [os.path.relpath(os.path.join(dirpath, f), root) for f in files if f.endswith((".yaml", ".yml"))]
    return sorted(out)


def check_files_used(root):
    """Every YAML file is a kustomization or listed by one (resources,
    components, configurations)."""
    listed, kustomizations = set(), []
    for path in manifest_files(root):
        if os.path.basename(path) != "kustomization.yaml":
            continue
        kustomizations.append(path)
        with open(os.path.join(root, path)) as f:
            k = yaml.safe_load(f)
        base = os.path.dirname(path)
        for key in ("resources", "components", "configurations"):
            for entry in k.get(key) or []:
                listed.add(os.path.normpath(os.path.join(base, entry)))
    for path in manifest_files(root):
        if os.path.basename(path) != "kustomization.yaml" and path not in listed:
            problem(path, "not used by any kustomization")
    if not any(p.startswith("overlays/") for p in kustomizations):
        problem(root, "no overlays")


class Schemas:
    def __init__(self, directory):
        self.dir = directory
        with open(os.path.join(directory, "index.json")) as f:
            self.index = json.load(f)
        self.cache = {}

    def errors(self, doc):
        key = f"{doc.get('apiVersion')}/{doc.get('kind')}"
        if key not in self.index:
            return [f"unknown kind {key} (no schema)"]
        if key not in self.cache:
            with open(os.path.join(self.dir, self.index[key])) as f:
                self.cache[key] = jsonschema.Draft7Validator(json.load(f))
        return [f"{key} {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
                for e in self.cache[key].iter_errors(doc)]


def executor_config():
    """The controller's `executor` from the configuration docs/argo.md tells
    users to set (testdata/workflow-controller-configmap.yaml)."""
    with open(os.path.join(HERE, "testdata", "workflow-controller-configmap.yaml")) as f:
        cm = yaml.safe_load(f)
    return yaml.safe_load(cm["data"]["executor"])


def check_docs(root):
    docs = os.path.join(os.path.dirname(os.path.abspath(root)), "docs", "argo.md")
    try:
        with open(docs) as f:
            text = f.read()
    except OSError:
        problem("docs/argo.md", "missing: the Argo path needs its user guide")
        return
    with open(os.path.join(HERE, "testdata", "workflow-controller-configmap.yaml")) as f:
        fixture = f.read()
    block = fixture.split("\ndata:\n", 1)[1]
    if block.strip() not in text:
        problem("docs/argo.md", "does not show the workflow-controller-configmap executor block the tests assume "
                                "(tests/manifests/testdata/workflow-controller-configmap.yaml)")


def check_pod_security(overlay, docs, executor):
    for where, level, pod, annotations in pods.all_pods(docs, executor):
        found = pss.restricted(pod, annotations) if level == "restricted" else pss.baseline(pod, annotations)
        for v in found:
            problem(f"{overlay} {where}", f"not Pod Security {level}: {v}")


def main():
    sbpipe, root, schema_dir = sys.argv[1:4]
    schemas = Schemas(schema_dir)
    executor = executor_config()
    kubectl_path = kubectl()
    check_files_used(root)
    check_docs(root)
    counts = []
    for overlay in OVERLAYS if kubectl_path else ():
        docs = build_overlay(kubectl_path, root, overlay)
        counts.append(f"{overlay}: {len(docs)} objects")
        for d in docs:
            for e in schemas.errors(d):
                problem(f"{overlay} {d.get('kind')} {d['metadata'].get('name')}", e)
        for name, wf in check_sensor.sensor_resource_workflows(docs):
            for e in schemas.errors(wf):
                problem(f"{overlay} Sensor {name} trigger resource", e)
        check_refs.check(overlay, docs, problem)
        check_pod_security(overlay, docs, executor)
        check_policy.check(overlay, docs, problem)
        check_flow.check(overlay, docs, sbpipe, problem)
        check_sensor.check(docs, lambda where, text: problem(f"{overlay} {where}", text),
                           check_policy.BUILD_REPO, schemas.errors)
    for p in problems:
        print(p)
    print(f"{'; '.join(counts) or 'no overlay built'}: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Checks manifests/ the way a cluster and a reviewer would:

1. every YAML document validates against the JSON schema of its apiVersion/kind
   (tests/support/schemas/index.json); an unknown kind fails; kustomization.yaml
   lists files that exist, and every manifest file is listed or named as the
   documented alternative;
2. policies: the signing-keys Secret is mounted only where imager runs (read-only at
   /secureboot), verify gets the certificate alone; SecureBoot imager invocations of the
   shipped config carry -lockdown then lockdown=integrity; no image without a tag or
   with :latest; every container has a securityContext and resources (requests and
   limits); sbpipe containers run non-root with a read-only root, no capabilities and
   RuntimeDefault seccomp; the receiver's Role allows nothing but
   create/get/list/watch on workflows;
3. every sbpipe command line, with sample values for {{...}}, passes the real
   parser (`sbpipe --validate-only ...`).

usage: check_manifests.py SBPIPE_BINARY MANIFESTS_DIR SCHEMAS_DIR
Prints every problem and exits 1 when there is any.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import jsonschema
import yaml

SAMPLES = {
    "workflow.parameters.version": "v1.9.0",
    "workflow.parameters.repo": "owner/talos-build",
    "workflow.parameters.release-id": "4242",
    "workflow.parameters.arch": "amd64",
    "workflow.parameters.installer-repository": "ghcr.io/owner/talos-installer",
    "workflow.parameters.registry-username": "owner",
    "workflow.parameters.sbpipe-image": "ghcr.io/owner/sbpipe:0.1.0",
    "inputs.parameters.digest": "sha256:" + "ab" * 32,
}

problems = []


def problem(where, text):
    problems.append(f"{where}: {text}")


def load_documents(root):
    docs = []
    for dirpath, dirs, files in os.walk(root):
        if os.path.relpath(dirpath, root) == ".":
            dirs[:] = [d for d in dirs if d != "systemd"]  # not Kubernetes: tests/systemd checks it
        for name in sorted(files):
            if not name.endswith((".yaml", ".yml")):
                continue
            path = os.path.join(dirpath, name)
            with open(path) as f:
                for i, doc in enumerate(yaml.safe_load_all(f)):
                    if doc is not None:
                        docs.append((os.path.relpath(path, root), i, doc))
    return docs


def check_schemas(docs, schemas):
    with open(os.path.join(schemas, "index.json")) as f:
        index = json.load(f)
    cache = {}
    for path, i, doc in docs:
        where = f"{path}#{i}"
        if doc.get("kind") == "Kustomization":
            continue
        key = f"{doc.get('apiVersion')}/{doc.get('kind')}"
        if key not in index:
            problem(where, f"unknown kind {key} (no schema)")
            continue
        if key not in cache:
            with open(os.path.join(schemas, index[key])) as f:
                cache[key] = jsonschema.Draft7Validator(json.load(f))
        for error in cache[key].iter_errors(doc):
            problem(where, f"{key} {'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}")


def check_kustomization(docs, root):
    listed = set()
    for path, _, doc in docs:
        if doc.get("kind") == "Kustomization":
            for resource in doc.get("resources", []):
                listed.add(os.path.normpath(resource))
                if not os.path.exists(os.path.join(root, resource)):
                    problem(path, f"lists {resource}, which does not exist")
    alternatives = {"argo/talos-build-sensor.yaml"}  # applied instead of argo/sbpipe-webhook.yaml
    for path in sorted({p for p, _, d in docs if d.get("kind") != "Kustomization"}):
        if path not in listed and path not in alternatives:
            problem(path, "not listed in kustomization.yaml")


def containers_of(doc):
    """(where, container, pod-level volumes, template-level volumes) of every container."""
    kind = doc.get("kind")
    if kind == "WorkflowTemplate":
        spec = doc["spec"]
        for t in spec.get("templates", []):
            for c in ([t["container"]] if "container" in t else []):
                yield f"template {t['name']}", t, c, spec.get("volumes", []) + t.get("volumes", [])
    elif kind == "Deployment":
        pod = doc["spec"]["template"]["spec"]
        for c in pod.get("containers", []):
            yield f"container {c['name']}", None, c, pod.get("volumes", [])


def check_policies(docs, sbpipe, root):
    for path, i, doc in docs:
        for where, template, c, volumes in containers_of(doc):
            where = f"{path} {where}"
            image = c.get("image", "")
            templated = "{{" in image
            if not templated and (":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest")):
                problem(where, f"image {image!r} has no pinned tag")
            if "securityContext" not in c:
                problem(where, "no securityContext")
            res = c.get("resources", {})
            if not res.get("requests") or not res.get("limits"):
                problem(where, "resources need requests and limits")
            sc = c.get("securityContext", {})
            if sc.get("privileged"):
                problem(where, "privileged")
            if sc.get("allowPrivilegeEscalation", True):
                problem(where, "allowPrivilegeEscalation is not false")
            if "ALL" not in sc.get("capabilities", {}).get("drop", []):
                problem(where, "capabilities are not all dropped")
            if sc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
                problem(where, "seccomp is not RuntimeDefault")
            is_sbpipe = c.get("command", [""])[0].endswith("/sbpipe")
            if is_sbpipe:
                if not sc.get("runAsNonRoot") or not sc.get("readOnlyRootFilesystem") or sc.get("capabilities", {}).get("add"):
                    problem(where, "sbpipe must run non-root, read-only, with no capabilities added")
                check_command_line(where, c, sbpipe)
            is_imager = c.get("command", [""])[0].endswith("/imager")
            by_name = {v["name"]: v for v in volumes}
            for m in c.get("volumeMounts", []):
                v = by_name.get(m["name"], {})
                secret = v.get("secret", {})
                if secret.get("secretName") != "secureboot-signing-keys":
                    continue
                keys = [item["key"] for item in (secret.get("items") or [])]
                if is_imager:
                    if m.get("mountPath") != "/secureboot" or not m.get("readOnly"):
                        problem(where, "the signing keys must be mounted read-only at /secureboot")
                elif keys != ["uki-signing-cert.pem"]:
                    problem(where, f"mounts the signing-keys Secret ({keys or 'every key'}); only imager may, others get the certificate alone")
            if is_imager and template is not None:
                if "podSpecPatch" not in template or "{{inputs.parameters.args}}" not in template["podSpecPatch"]:
                    problem(where, "imager must take its arguments from the plan (podSpecPatch)")
        if doc.get("kind") == "WorkflowTemplate":
            names = [v["name"] for v in doc["spec"].get("volumes", [])
                     if v.get("secret", {}).get("secretName") == "secureboot-signing-keys"]
            if names:
                problem(path, "the signing-keys Secret is a workflow-level volume; keep it in the imager template")
            mutexes = doc["spec"].get("synchronization", {}).get("mutexes", [])
            if not any("{{workflow.parameters.version}}" in m.get("name", "") for m in mutexes):
                problem(path, "no mutex keyed on the version")
            for key in ("activeDeadlineSeconds", "podGC", "ttlStrategy", "volumeClaimTemplates"):
                if key not in doc["spec"]:
                    problem(path, f"no spec.{key}")
        if doc.get("kind") == "Role" and doc["metadata"]["name"] == "sbpipe-webhook":
            for rule in doc.get("rules", []):
                if rule.get("apiGroups") != ["argoproj.io"] or rule.get("resources") != ["workflows"] or \
                        not set(rule.get("verbs", [])) <= {"create", "get", "list", "watch"}:
                    problem(path, f"the receiver's Role allows more than create/get/list/watch on workflows: {rule}")
        if doc.get("kind") == "ConfigMap" and "sbpipe.yaml" in doc.get("data", {}):
            check_plan(f"{path} ConfigMap {doc['metadata']['name']}", doc["data"]["sbpipe.yaml"], sbpipe)


def substitute(text):
    def value(m):
        key = m.group(1).strip()
        if key not in SAMPLES:
            problem("sample values", f"no sample for {{{{{key}}}}}")
            return "x"
        return SAMPLES[key]
    return re.sub(r"\{\{([^}]*)\}\}", value, text)


def check_command_line(where, container, sbpipe):
    args = [substitute(a) for a in container.get("args", [])]
    r = subprocess.run([sbpipe, "--validate-only"] + args, capture_output=True, text=True)
    if r.returncode != 0:
        problem(where, f"sbpipe rejects {' '.join(args)}: {r.stderr.strip()}")


def check_plan(where, config_text, sbpipe):
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        f.write(config_text)
        f.flush()
        r = subprocess.run([sbpipe, "plan", "--version", "v1.9.0", "--config", f.name, "--format", "argo"],
                           capture_output=True, text=True)
    if r.returncode != 0:
        problem(where, f"sbpipe plan refuses the config: {r.stderr.strip()}")
        return
    for inv in json.loads(r.stdout):
        if not inv["secureboot"]:
            continue
        args = inv["args"]
        values = [args[k + 1] for k in range(len(args) - 1) if args[k] == "--extra-kernel-arg"]
        if "-lockdown" not in values or "lockdown=integrity" not in values or \
                values.index("-lockdown") > values.index("lockdown=integrity"):
            problem(where, f"{inv['name']}: kernel args {values} lack -lockdown then lockdown=integrity")


def main():
    sbpipe, root, schemas = sys.argv[1:4]
    docs = load_documents(root)
    if not docs:
        problem(root, "no manifests")
    check_schemas(docs, schemas)
    check_kustomization(docs, root)
    check_policies(docs, sbpipe, root)
    kinds = sorted({f"{d.get('kind')}" for _, _, d in docs})
    for p in problems:
        print(p)
    print(f"{len(docs)} documents ({', '.join(kinds)}): {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

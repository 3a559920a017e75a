"""The WorkflowTemplate run on paper (template_run.py) for the plan of the
shipped ConfigMap and for the same config with arm64 added: every output of
the plan is built by the right imager template (keys only for SecureBoot)
into the workspace's out/; the plan step saves the whole plan as
/work/plan.json, and verify, push-installer and upload-assets each run once
with `--plan /work/plan.json --out /work/out`, so what they check, push and
publish is the plan's publication (plan/published.h), the same call `sbpipe
run` makes: the template selects nothing itself, and holds no expression.
Nothing is consumed that no step made, and every sbpipe command line, as the
container will run it, passes the real parser (`sbpipe --validate-only
...`). The plan comes from the real `sbpipe plan --format argo` on the
shipped config.
"""
import hashlib
import json
import os
import subprocess
import tempfile

import yaml

import template_run

DIGEST = "sha256:" + "ab" * 32


def run_sbpipe(sbpipe, args, config_text=None):
    """Runs sbpipe with ARGS (and CONFIG_TEXT as the file of `--config {config}`).
    test_manifests.py runs this check once per planted mistake, mostly with the same command
    lines: with $SBPIPE_CHECK_CACHE set, an answer is kept there, keyed by the binary (path,
    size, mtime), the arguments and the config text, so each distinct command runs once."""
    cache = os.environ.get("SBPIPE_CHECK_CACHE")
    path = None
    if cache:
        st = os.stat(sbpipe)
        key = json.dumps([sbpipe, st.st_size, st.st_mtime_ns, args, config_text])
        path = os.path.join(cache, hashlib.sha256(key.encode()).hexdigest() + ".json")
        if os.path.exists(path):
            with open(path) as f:
                return subprocess.CompletedProcess(args, **json.load(f))
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        if config_text is not None:
            f.write(config_text)
            f.flush()
        r = subprocess.run([sbpipe] + [f.name if a == "{config}" else a for a in args], capture_output=True, text=True)
    if path:
        with open(path + ".tmp", "w") as f:
            json.dump({"returncode": r.returncode, "stdout": r.stdout, "stderr": r.stderr}, f)
        os.replace(path + ".tmp", path)
    return r


def plan_for(sbpipe, config_text, extra, where, p):
    r = run_sbpipe(sbpipe, ["plan", "--tag", "v1.9.0", "--config", "{config}", "--format", "argo"] + extra, config_text)
    if r.returncode != 0:
        p(where, f"sbpipe plan refuses the config: {r.stderr.strip()}")
        return None
    return r.stdout.strip()


def check_lockdown(where, plan, p):
    for inv in plan:
        if not inv["secureboot"]:
            continue
        args = inv["args"]
        values = [args[k + 1] for k in range(len(args) - 1) if args[k] == "--extra-kernel-arg"]
        if "-lockdown" not in values or "lockdown=integrity" not in values or \
                values.index("-lockdown") > values.index("lockdown=integrity"):
            p(where, f"{inv['name']}: kernel args {values} lack -lockdown then lockdown=integrity")


def validate_argv(where, argv, sbpipe, p):
    r = run_sbpipe(sbpipe, ["--validate-only"] + argv[1:])
    if r.returncode != 0:
        p(where, f"sbpipe rejects {' '.join(argv[1:])}: {r.stderr.strip()}")


def check(overlay, docs, sbpipe, problem):
    def p(where, text):
        problem(f"{overlay} {where}", text)

    configs = [d for d in docs if d.get("kind") == "ConfigMap" and "sbpipe.yaml" in d.get("data", {})]
    templates = [d for d in docs if d.get("kind") == "WorkflowTemplate"]
    for d in docs:
        if d.get("kind") == "Deployment":
            for c in d["spec"]["template"]["spec"]["containers"]:
                if (c.get("command") or [""])[0].endswith("/sbpipe"):
                    validate_argv(f"Deployment {d['metadata']['name']}", c["command"] + c.get("args", []), sbpipe, p)
    for cm in configs:
        text = cm["data"]["sbpipe.yaml"]
        for label, extra in (("shipped plan", []), ("amd64+arm64 plan", ["--arch", "amd64", "--arch", "arm64"])):
            where = f"ConfigMap {cm['metadata']['name']} {label}"
            result = plan_for(sbpipe, text, extra, where, p)
            if result is None:
                continue
            plan = json.loads(result)
            check_lockdown(where, plan, p)
            for wt in templates:
                run_template(f"WorkflowTemplate {wt['metadata']['name']} ({label})", wt, plan, result, sbpipe, p)


PLAN_FILE = "/work/plan.json"
OUT_DIR = "/work/out"


def flag_value(argv, flag):
    return argv[argv.index(flag) + 1] if flag in argv[:-1] else None


def mounts_of(wt, template):
    t = next(x for x in wt["spec"]["templates"] if x["name"] == template)
    return t.get("container", {}).get("volumeMounts", [])


def run_template(where, wt, plan, result, sbpipe, p):
    sample = {
        "workflow.parameters.version": "v1.9.0",
        "workflow.parameters.repo": "owner/talos-build",
        "workflow.parameters.release-id": "123456789",
        "workflow.parameters.release-state": "prerelease",
        "workflow.name": "talos-build-v1-9-0-123456789",
        "results": {"plan": result},
        "outputs.push-installer.digest": DIGEST,
    }
    try:
        pods = template_run.run(wt, sample)
    except (template_run.RunError, json.JSONDecodeError) as e:
        p(where, f"cannot run the steps: {e}")
        return
    by = {}
    for pod in pods:
        by.setdefault(pod.template, []).append(pod)
    signed = sorted(x.item["name"] for x in by.get("imager-signed", []))
    unsigned = sorted(x.item["name"] for x in by.get("imager-unsigned", []))
    if signed != sorted(i["name"] for i in plan if i["secureboot"]):
        p(where, f"SecureBoot outputs built with the keys: {signed}")
    if unsigned != sorted(i["name"] for i in plan if not i["secureboot"]):
        p(where, f"outputs built without the keys: {unsigned}")
    for x in by.get("imager-signed", []) + by.get("imager-unsigned", []):
        if x.argv[1:] != x.item["args"] or x.inputs.get("image") != x.item["image"]:
            p(where, f"{x.item['name']}: imager runs {x.argv} with {x.inputs.get('image')}, not the plan's item")
        if flag_value(x.item["args"], "--output") != "/out":
            p(where, f"{x.item['name']}: imager does not write to /out")
        if not any(m["name"] == "workspace" and m["mountPath"] == "/out" and m.get("subPath") == "out"
                   for m in mounts_of(wt, x.template)):
            p(where, f"{x.template}: /out is not the workspace's out/ (what --out {OUT_DIR} reads)")
    plans = by.get("plan", [])
    if len(plans) != 1 or flag_value(plans[0].argv, "--save") != PLAN_FILE:
        p(where, f"the plan step does not save the plan as {PLAN_FILE}")
    # Each consumer acts on the plan's publication, read from the plan step's file and imager's outputs.
    for step in ("verify", "push-installer", "upload-assets"):
        runs = by.get(step, [])
        if len(runs) != 1:
            p(where, f"{step} runs {len(runs)} times, not once")
            continue
        argv = runs[0].argv
        if flag_value(argv, "--plan") != PLAN_FILE or flag_value(argv, "--out") != OUT_DIR:
            p(where, f"{step} does not act on --plan {PLAN_FILE} --out {OUT_DIR}: {argv}")
        if [a for a in argv if a.startswith(OUT_DIR + "/")]:
            p(where, f"{step} names files itself; the plan names them")
    for step in ["plan", "verify", "push-installer", "upload-assets"]:
        if not any(m["name"] == "workspace" and m["mountPath"] == "/work" and not m.get("subPath")
                   for m in mounts_of(wt, step)):
            p(where, f"{step} does not mount the workspace at /work")
    if by.get("pxe-extract"):
        p(where, "pxe-extract runs, but the PXE files are imager's own outputs")
    for x in by.get("upload-assets", []) + by.get("finalize", []):
        for flag, value in (("--release-id", "123456789"), ("--release-state", "prerelease")):
            if flag_value(x.argv, flag) != value:
                p(where, f"{x.template} does not pin the release with {flag} {value}")
    if len(by.get("finalize", [])) != 1:
        p(where, "finalize does not run once")
    made = {"/work/out/" + i["output_file"] for i in plan} | {PLAN_FILE, OUT_DIR}
    for x in pods:
        for k, a in enumerate(x.argv):
            a = a.split("=")[0]
            writes = k > 0 and x.argv[k - 1] in ("--save", "--digest-file")  # the step's own output
            if a.startswith("/work/") and a not in made and not writes:
                p(where, f"{x.template} reads {a}, which no step makes")
        if x.argv and x.argv[0].endswith("/sbpipe"):
            validate_argv(f"{where} {x.template}", x.argv, sbpipe, p)

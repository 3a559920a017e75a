"""Policies the manifests promise (docs/argo.md), per overlay.

- Images: every image is REPO@sha256:<64 hex>, except imager's, which is
  `{{inputs.parameters.image}}` fed from the plan's item.image, and the plan
  runs with --pin-digests; no image field reads a Workflow parameter, and no
  Workflow parameter is an image or a repository (a submitter must not choose
  the image that gets the keys, nor where the installer goes).
- Keys: the signing-keys Secret is a volume of the SecureBoot imager template
  only, read-only at /secureboot; every other pod that touches it gets
  uki-signing-cert.pem alone; verify also takes --pcr-pubkey from the PCR
  public key Secret.
- Retries: sbpipe steps retry OnFailure with an expression that is true for
  exit 1 and false for exit 2; imager has activeDeadlineSeconds and retries
  imager 1.14's exit codes 1, 5, 6 (and a deadline's signal), never 2, 3, 4, 7;
  no OnError (it does not retry a failed main container).
- Containers: securityContext and resources (requests and limits); sbpipe
  runs non-root with a read-only root and no capabilities.
- The namespace enforces baseline and warns/audits restricted; every
  namespaced object is in it; the admission policy is bound to it.
- The receiver's Role: create/get/list/watch on workflows only; its
  Deployment spreads replicas and sets probe timeouts.
"""
import re


NAMESPACE = "talos-build"
BUILD_REPO = "OWNER/talos-build"
DIGEST = re.compile(r"^[a-z0-9.:-]+(/[a-z0-9._-]+)+@sha256:[0-9a-f]{64}$")
CLUSTER_SCOPED = {"Namespace", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}
PARAMETERS = {"version", "repo", "release-id", "release-state"}


def _containers(doc):
    kind = doc.get("kind")
    if kind == "WorkflowTemplate":
        for t in doc["spec"]["templates"]:
            if "container" in t:
                yield f"template {t['name']}", t, t["container"]
    elif kind == "Deployment":
        for c in doc["spec"]["template"]["spec"]["containers"]:
            yield f"container {c['name']}", None, c


def _is(c, program):
    return (c.get("command") or [""])[0].endswith("/" + program)


def check(overlay, docs, problem):
    def p(where, text):
        problem(f"{overlay} {where}", text)

    for d in docs:
        kind, name = d.get("kind"), d["metadata"]["name"]
        ns = d["metadata"].get("namespace")
        if kind in CLUSTER_SCOPED and ns:
            p(f"{kind} {name}", f"is cluster-scoped but has namespace {ns}")
        if kind not in CLUSTER_SCOPED and ns != NAMESPACE:
            p(f"{kind} {name}", f"is in namespace {ns}, not {NAMESPACE}")
        if kind == "Namespace":
            labels = d["metadata"].get("labels") or {}
            want = {"enforce": "baseline", "warn": "restricted", "audit": "restricted"}
            for mode, level in want.items():
                if labels.get(f"pod-security.kubernetes.io/{mode}") != level:
                    p(f"Namespace {name}", f"pod-security.kubernetes.io/{mode} is not {level}")
        if kind == "ValidatingAdmissionPolicyBinding":
            sel = d["spec"]["matchResources"]["namespaceSelector"]["matchLabels"]
            if sel.get("kubernetes.io/metadata.name") != NAMESPACE or d["spec"].get("validationActions") != ["Deny"]:
                p(f"{kind} {name}", f"does not deny in namespace {NAMESPACE}")
        if kind == "WorkflowTemplate":
            check_template(f"WorkflowTemplate {name}", d, p)
        if kind == "Role" and name == "sbpipe-webhook":
            for rule in d.get("rules", []):
                if rule.get("apiGroups") != ["argoproj.io"] or rule.get("resources") != ["workflows"] or \
                        not set(rule.get("verbs", [])) <= {"create", "get", "list", "watch", "patch"}:
                    p(f"Role {name}", f"the receiver's Role allows more than create/get/list/watch/patch on workflows: {rule}")
        if kind == "Deployment":
            spec = d["spec"]["template"]["spec"]
            if d["spec"].get("replicas", 1) > 1 and not spec.get("topologySpreadConstraints"):
                p(f"Deployment {name}", "replicas without topologySpreadConstraints can share one node")
            for c in spec["containers"]:
                for probe in ("readinessProbe", "livenessProbe"):
                    if probe in c and "timeoutSeconds" not in c[probe]:
                        p(f"Deployment {name}", f"{c['name']} {probe} has the default 1 s timeout")
        if kind == "ConfigMap" and "sbpipe.yaml" in d.get("data", {}):
            check_config(f"ConfigMap {name}", d["data"]["sbpipe.yaml"], p)
        for where, template, c in _containers(d):
            check_container(f"{kind} {name} {where}", template, c, d, p)


def check_config(where, text, p):
    import yaml
    config = yaml.safe_load(text)
    outputs = set(config["imager"].get("outputs", []))
    if "secureboot-installer" not in outputs:
        p(where, "no secureboot-installer output: finalize needs the installer digest")
    if outputs - {"secureboot-installer", "secureboot-iso", "iso"}:
        p(where, f"outputs {sorted(outputs - {'secureboot-installer', 'secureboot-iso', 'iso'})} are not published "
                 "by the template (disk images need a privileged imager)")
    if config["serve"]["kubernetes"]["namespace"] != NAMESPACE:
        p(where, f"serve.kubernetes.namespace is not {NAMESPACE}")


def check_container(where, template, c, doc, p):
    image = c.get("image", "")
    if "{{" in image:
        if image != "{{inputs.parameters.image}}" or not _is(c, "imager"):
            p(where, f"image {image!r} is chosen at run time; only imager's may be, from the plan")
    elif not DIGEST.match(image):
        p(where, f"image {image!r} is not pinned by digest (REPO@sha256:...)")
    if "workflow.parameters" in image:
        p(where, "the image comes from a Workflow parameter")
    if "securityContext" not in c:
        p(where, "no securityContext")
    res = c.get("resources", {})
    if not res.get("requests") or not res.get("limits"):
        p(where, "resources need requests and limits")
    sc = c.get("securityContext", {})
    if sc.get("privileged"):
        p(where, "privileged")
    if sc.get("allowPrivilegeEscalation", True):
        p(where, "allowPrivilegeEscalation is not false")
    if "ALL" not in sc.get("capabilities", {}).get("drop", []):
        p(where, "capabilities are not all dropped")
    if sc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        p(where, "seccomp is not RuntimeDefault")
    if _is(c, "sbpipe"):
        if not sc.get("runAsNonRoot") or not sc.get("readOnlyRootFilesystem") or sc.get("capabilities", {}).get("add"):
            p(where, "sbpipe must run non-root, read-only, with no capabilities added")
    if _is(c, "imager") and sc.get("runAsUser") == 0 and sc.get("runAsNonRoot") is not False:
        p(where, "imager runs as root but does not set runAsNonRoot: false (a pod-level true would stop it)")
    if template is None:
        return
    spec = doc["spec"]
    volumes = {v["name"]: v for v in spec.get("volumes", []) + template.get("volumes", [])}
    keys_mounted = False
    for m in c.get("volumeMounts", []):
        secret = volumes.get(m["name"], {}).get("secret", {})
        if secret.get("secretName") != "secureboot-signing-keys":
            continue
        items = [i["key"] for i in secret.get("items") or []]
        if _is(c, "imager") and not items:
            keys_mounted = True
            if m.get("mountPath") != "/secureboot" or not m.get("readOnly"):
                p(where, "the signing keys must be mounted read-only at /secureboot")
        elif items != ["uki-signing-cert.pem"]:
            p(where, f"mounts the signing-keys Secret ({items or 'every key'}); only SecureBoot imager pods may, "
                     "others get the certificate alone")
    args = (c.get("command") or [])[1:] + (c.get("args") or [])
    signs = _is(c, "sbpipe") and args[:1] in (["push-installer"], ["upload-assets"])
    for m in c.get("volumeMounts", []):
        if volumes.get(m["name"], {}).get("secret", {}).get("secretName") == "sbpipe-image-signing-key" and not signs:
            p(where, "mounts the image signing key; only push-installer and upload-assets may")
    if signs:
        if "--sign-key" not in args:
            p(where, f"{args[0]} does not sign what it publishes (--sign-key): nodes with ImageVerificationConfig refuse "
                     "the installer, finalize the assets")
        else:
            path = args[args.index("--sign-key") + 1]
            mounts = [m for m in c.get("volumeMounts", []) if path.startswith(m["mountPath"] + "/")]
            secret = volumes.get(mounts[0]["name"], {}).get("secret", {}) if mounts else {}
            if secret.get("secretName") != "sbpipe-image-signing-key" or not mounts[0].get("readOnly"):
                p(where, "--sign-key is not read from the image signing key Secret, mounted read-only")
    if _is(c, "imager"):
        if "{{inputs.parameters.args}}" not in template.get("podSpecPatch", ""):
            p(where, "imager must take its arguments from the plan (podSpecPatch)")
        if "activeDeadlineSeconds" not in template:
            p(where, "imager has no activeDeadlineSeconds: a hung pull holds the run for hours")
        if not template.get("retryStrategy"):
            p(where, "imager has no retryStrategy")
        if keys_mounted != template["name"].endswith("-signed"):
            p(where, "the signing keys belong in the SecureBoot imager template and nowhere else")
    args = (c.get("command") or [])[1:] + (c.get("args") or [])
    if _is(c, "sbpipe") and args[:1] == ["verify"]:
        if "--pcr-pubkey" not in args:
            p(where, "verify does not check the PCR public key (--pcr-pubkey): TPM unlock is not guarded")
        else:
            path = args[args.index("--pcr-pubkey") + 1]
            mounts = [m for m in c.get("volumeMounts", []) if path.startswith(m["mountPath"] + "/")]
            secret = volumes.get(mounts[0]["name"], {}).get("secret", {}) if mounts else {}
            if secret.get("secretName") != "secureboot-pcr-public-key":
                p(where, "--pcr-pubkey is not read from the PCR public key Secret")
    if _is(c, "sbpipe") and args[:1] == ["finalize"] and "--signing-pubkey" not in args:
        p(where, "finalize does not check the signatures (--signing-pubkey)")
    if _is(c, "sbpipe") and args[:1] == ["plan"] and "--pin-digests" not in args:
        p(where, "plan does not pin the imager image to a digest (--pin-digests)")
    check_retry(where, template, c, p)


RETRY_EQ = re.compile(r"\s*asInt\(lastRetry\.exitCode\)\s*==\s*(\d+)\s*")
RETRY_IN = re.compile(r"\s*asInt\(lastRetry\.exitCode\)\s+in\s+\[\s*(\d+(?:\s*,\s*\d+)*)\s*\]\s*")


def retried_exit_codes(expression):
    """The exit codes a retry expression retries, for the two forms the template may use
    (`asInt(lastRetry.exitCode) == N`, `asInt(lastRetry.exitCode) in [N, ...]`: expr-lang's
    equality and membership, argo-workflows docs/retries.md); None for anything else, so that
    no other expression goes unread."""
    m = RETRY_EQ.fullmatch(expression)
    if m:
        return {int(m.group(1))}
    m = RETRY_IN.fullmatch(expression)
    if m:
        return {int(x) for x in m.group(1).split(",")}
    return None


RETRY_STATUS = re.compile(r'\s*lastRetry\.status\s*==\s*"(\w+)"\s*')


def retry_disjunction(expression):
    """(exit codes, statuses) that an expression of `||`-joined terms retries, each term
    `asInt(lastRetry.exitCode) == N` or `lastRetry.status == "S"` (expr-lang's `||` and `==`,
    argo-workflows docs/retries.md); None when any term has another shape."""
    codes, statuses = set(), set()
    for term in expression.split("||"):
        eq, status = RETRY_EQ.fullmatch(term), RETRY_STATUS.fullmatch(term)
        if eq:
            codes.add(int(eq.group(1)))
        elif status:
            statuses.add(status.group(1))
        else:
            return None
    return codes, statuses


def check_retry(where, template, c, p):
    retry = template.get("retryStrategy")
    if not retry:
        return
    if retry.get("retryPolicy") == "OnError":
        p(where, "retryPolicy OnError does not retry a failed main container")
    if _is(c, "imager"):
        # imager 1.14's exit codes (talos v1.14.0-rc.1 pkg/installer/exitcode/exitcode.go): retry
        # 1 unknown, 5 dependency, 6 I/O and a pod cut by its deadline; never 2 invalid input,
        # 3 unsupported, 4 environment, 7 install.
        if "expression" not in retry:
            p(where, "imager retries every failure: give its retryStrategy an exit-code expression (1, 5, 6)")
            return
        terms = retry_disjunction(retry["expression"])
        if terms is None:
            p(where, f"retry expression {retry['expression']!r}: write a disjunction of "
                     "asInt(lastRetry.exitCode) == N and lastRetry.status == \"Error\"")
            return
        for code, want in ((1, True), (5, True), (6, True), (143, True), (2, False), (3, False), (4, False), (7, False)):
            got = code in terms[0]
            if got is not want:
                p(where, f"imager retry expression is {got} for exit {code}: retry 1, 5, 6 (and a deadline's signal), "
                         "never 2, 3, 4, 7")
    if _is(c, "sbpipe"):
        if retry.get("retryPolicy") != "OnFailure" or "expression" not in retry:
            p(where, "sbpipe steps retry OnFailure with an exit-code expression")
            return
        codes = retried_exit_codes(retry["expression"])
        if codes is None:
            p(where, f"retry expression {retry['expression']!r}: write asInt(lastRetry.exitCode) == N or ... in [N, ...]")
        elif 1 not in codes or 2 in codes:
            p(where, f"retry expression retries exits {sorted(codes)}: retry on 1 (failed), never on 2 (usage)")

def check_template(where, d, p):
    spec = d["spec"]
    params = spec.get("arguments", {}).get("parameters", [])
    for x in params:
        if x["name"] not in PARAMETERS:
            p(where, f"Workflow parameter {x['name']!r}: a submitter may set only {sorted(PARAMETERS)}")
        if re.search(r"image|registr|repository", x["name"]) or "@sha256:" in str(x.get("value", "")) \
                or re.match(r"^[a-z0-9.-]+\.[a-z]+/", str(x.get("value", ""))):
            p(where, f"Workflow parameter {x['name']!r} names an image")
    names = [v["name"] for v in spec.get("volumes", []) if v.get("secret", {}).get("secretName") == "secureboot-signing-keys"]
    if names:
        p(where, "the signing-keys Secret is a workflow-level volume; keep it in the SecureBoot imager template")
    mutexes = spec.get("synchronization", {}).get("mutexes", [])
    if not any("{{workflow.parameters.version}}" in m.get("name", "") for m in mutexes):
        p(where, "no mutex keyed on the version")
    for key in ("activeDeadlineSeconds", "podGC", "ttlStrategy", "volumeClaimTemplates"):
        if key not in spec:
            p(where, f"no spec.{key}")
    labels = (spec.get("podMetadata") or {}).get("labels") or {}
    if "{{workflow.parameters.release-id}}" not in labels.values():
        p(where, "the release id does not reach the pods (podMetadata label)")
    rwo = any("ReadWriteOnce" in c["spec"].get("accessModes", []) for c in spec.get("volumeClaimTemplates", []))
    affinity = ((spec.get("affinity") or {}).get("podAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution")
    if rwo and not any((t.get("labelSelector") or {}).get("matchLabels", {}).get("workflows.argoproj.io/workflow")
                       == "{{workflow.name}}" and t.get("topologyKey") == "kubernetes.io/hostname"
                       for t in affinity or []):
        p(where, "a ReadWriteOnce workspace needs the run's pods on one node (pod affinity on the workflow label)")

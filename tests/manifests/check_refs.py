"""References that must resolve within one overlay's objects: what a pod, a
binding, a trigger or an Ingress names must be made by the same `kubectl
apply -k`, or the objects wait forever (ContainerCreating, a Sensor that
cannot start, a Workflow that fails to validate).

Secrets count as made when a Secret or a OnePasswordItem of that name exists
(the 1Password operator makes a Secret of the item's name), or, for an
Ingress TLS Secret, when the Ingress asks cert-manager for it. A volume
marked optional need not resolve (Kubernetes mounts it empty).
"""
import pods


def _names(docs, kind):
    return {d["metadata"]["name"] for d in docs if d.get("kind") == kind}


def _pod_refs(where, pod, sas, secrets, configmaps, problem, claims=()):
    sa = pod.get("serviceAccountName")
    if sa and sa not in sas:
        problem(where, f"ServiceAccount {sa} is not in the overlay")
    for s in pod.get("imagePullSecrets") or []:
        if s["name"] not in secrets:
            problem(where, f"imagePullSecret {s['name']} is not in the overlay")
    volumes = {}
    for v in pod.get("volumes") or []:
        volumes[v["name"]] = v
        if "secret" in v and not v["secret"].get("optional") and v["secret"]["secretName"] not in secrets \
                and not v["secret"]["secretName"].startswith("<"):
            problem(where, f"volume {v['name']}: Secret {v['secret']['secretName']} is not in the overlay")
        if "configMap" in v and not v["configMap"].get("optional") and v["configMap"]["name"] not in configmaps:
            problem(where, f"volume {v['name']}: ConfigMap {v['configMap']['name']} is not in the overlay")
        if "persistentVolumeClaim" in v and v["persistentVolumeClaim"]["claimName"] not in claims \
                and v["name"] not in claims:
            problem(where, f"volume {v['name']}: PVC {v['persistentVolumeClaim']['claimName']} is not made here")
    for c in (pod.get("initContainers") or []) + (pod.get("containers") or []):
        for m in c.get("volumeMounts") or []:
            if m["name"] not in volumes:
                problem(where, f"container {c['name']} mounts {m['name']}, which is no volume of the pod")
        for e in c.get("env") or []:
            ref = (e.get("valueFrom") or {})
            if "secretKeyRef" in ref and ref["secretKeyRef"]["name"] not in secrets:
                problem(where, f"env {e['name']}: Secret {ref['secretKeyRef']['name']} is not in the overlay")
            if "configMapKeyRef" in ref and ref["configMapKeyRef"]["name"] not in configmaps:
                problem(where, f"env {e['name']}: ConfigMap {ref['configMapKeyRef']['name']} is not in the overlay")


def check(overlay, docs, problem):
    def p(where, text):
        problem(f"{overlay} {where}", text)

    sas = _names(docs, "ServiceAccount") | {"default"}
    secrets = _names(docs, "Secret") | _names(docs, "OnePasswordItem")
    configmaps = _names(docs, "ConfigMap")
    roles = _names(docs, "Role")
    services = _names(docs, "Service") | {f"{n}-eventsource-svc" for n in _names(docs, "EventSource")}
    templates = {d["metadata"]["name"]: d for d in docs if d.get("kind") == "WorkflowTemplate"}
    eventsources = {d["metadata"]["name"]: d for d in docs if d.get("kind") == "EventSource"}
    for d in docs:
        kind, name = d.get("kind"), d["metadata"]["name"]
        where = f"{kind} {name}"
        if kind == "Deployment":
            _pod_refs(where, d["spec"]["template"]["spec"], sas, secrets, configmaps, p)
        elif kind == "ServiceAccount":
            for s in d.get("imagePullSecrets") or []:
                if s["name"] not in secrets:
                    p(where, f"imagePullSecret {s['name']} is not in the overlay")
        elif kind == "RoleBinding":
            if d["roleRef"]["kind"] == "Role" and d["roleRef"]["name"] not in roles:
                p(where, f"Role {d['roleRef']['name']} is not in the overlay")
            for s in d.get("subjects") or []:
                if s["kind"] == "ServiceAccount" and s["name"] not in sas:
                    p(where, f"ServiceAccount {s['name']} is not in the overlay")
        elif kind == "WorkflowTemplate":
            check_workflow_template(where, d, sas, secrets, configmaps, p)
        elif kind in ("Sensor", "EventSource"):
            _pod_refs(where, pods.events_pod(d), sas, secrets, configmaps, p)
        if kind == "EventSource":
            for ename, gh in (d["spec"].get("github") or {}).items():
                secret = (gh.get("webhookSecret") or {}).get("name")
                if secret and secret not in secrets:
                    p(where, f"event {ename}: webhook Secret {secret} is not in the overlay")
        if kind == "Sensor":
            check_sensor_refs(where, d, templates, eventsources, p)
        if kind == "Ingress":
            cert_manager = any(k.startswith("cert-manager.io/") for k in (d["metadata"].get("annotations") or {}))
            for t in d["spec"].get("tls") or []:
                if t.get("secretName") and t["secretName"] not in secrets and not cert_manager:
                    p(where, f"TLS Secret {t['secretName']} is made by nobody (no Secret, no cert-manager)")
            for rule in d["spec"].get("rules") or []:
                for path in (rule.get("http") or {}).get("paths") or []:
                    svc = path["backend"]["service"]["name"]
                    if svc not in services:
                        p(where, f"backend Service {svc} is not in the overlay")


def check_workflow_template(where, d, sas, secrets, configmaps, p):
    spec = d["spec"]
    claims = {c["metadata"]["name"] for c in spec.get("volumeClaimTemplates", [])}
    names = {t["name"] for t in spec["templates"]}
    if spec.get("entrypoint") not in names:
        p(where, f"entrypoint {spec.get('entrypoint')} is no template")
    for t in spec["templates"]:
        for group in t.get("steps") or []:
            for step in group:
                if step["template"] not in names:
                    p(where, f"step {step['name']} uses template {step['template']}, which does not exist")
    for tname, pod, _ in pods.workflow_pods(d, {}):
        _pod_refs(f"{where} template {tname}", pod, sas, secrets, configmaps, p, claims)


def check_sensor_refs(where, d, templates, eventsources, p):
    for dep in d["spec"]["dependencies"]:
        es = eventsources.get(dep["eventSourceName"])
        if es is None:
            p(where, f"dependency {dep['name']}: EventSource {dep['eventSourceName']} is not in the overlay")
        elif not any(dep["eventName"] in (es["spec"].get(k) or {}) for k in es["spec"] if isinstance(es["spec"][k], dict)):
            p(where, f"dependency {dep['name']}: EventSource {es['metadata']['name']} has no event {dep['eventName']}")
    for trig in d["spec"]["triggers"]:
        res = ((trig["template"].get("k8s") or {}).get("source") or {}).get("resource") or {}
        ref = (res.get("spec") or {}).get("workflowTemplateRef", {}).get("name")
        if res.get("kind") == "Workflow":
            wt = templates.get(ref)
            if wt is None:
                p(where, f"trigger creates a Workflow from WorkflowTemplate {ref}, which is not in the overlay")
                continue
            declared = {x["name"] for x in wt["spec"].get("arguments", {}).get("parameters", [])}
            for x in res["spec"].get("arguments", {}).get("parameters", []):
                if x["name"] not in declared:
                    p(where, f"trigger passes parameter {x['name']}, which {ref} does not declare")
            if res["metadata"].get("namespace") != wt["metadata"].get("namespace"):
                p(where, "trigger creates the Workflow outside the WorkflowTemplate's namespace")

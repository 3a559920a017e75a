"""The pods that the objects of an overlay make, built as their controllers
build them, so that Pod Security and references are checked on what the API
server will see:

- Deployment: its pod template.
- WorkflowTemplate: one pod per container template, as argo-workflows
  v3.6 workflow/controller/workflowpod.go createWorkflowPod does: the
  template's container as `main`, Argo's `init` and `wait` containers with the
  controller's executor securityContext (config/config.go GetExecutor; empty
  unless workflow-controller-configmap sets `executor`), the pod
  securityContext of the template or else the Workflow's, the template's and
  the Workflow's volumes, the volumeClaimTemplates as PVC volumes and Argo's
  own emptyDirs (var-run-argo, tmp-dir-argo).
- Sensor / EventSource: argo-events v1.9.11 pkg/reconciler/{sensor,eventsource}
  /resource.go buildDeploymentSpec: one container `main` taking
  template.container's securityContext and resources, the pod taking
  template.securityContext, volumes, serviceAccountName; plus the `tmp`
  emptyDir and the EventBus auth Secret volume.
- EventBus (JetStream): pkg/reconciler/eventbus/installer/jetstream.go: pod
  securityContext from spec.jetstream.securityContext; containers main,
  reloader, metrics with their container templates' securityContext; a pid
  emptyDir, a projected config volume and the data PVC.
"""


def workflow_pods(doc, executor):
    """(template name, pod spec, annotations) for every container template."""
    spec = doc["spec"]
    claims = [{"name": c["metadata"]["name"], "persistentVolumeClaim": {"claimName": c["metadata"]["name"]}}
              for c in spec.get("volumeClaimTemplates", [])]
    argo_volumes = [{"name": "var-run-argo", "emptyDir": {}}, {"name": "tmp-dir-argo", "emptyDir": {}}]
    for t in spec.get("templates", []):
        if "container" not in t:
            continue
        main = dict(t["container"], name="main")
        init = {"name": "init", "securityContext": executor.get("securityContext")}
        wait = {"name": "wait", "securityContext": executor.get("securityContext")}
        pod = {
            "serviceAccountName": t.get("serviceAccountName", spec.get("serviceAccountName")),
            "securityContext": t.get("securityContext", spec.get("securityContext")),
            "initContainers": [init],
            "containers": [wait, main],
            "volumes": spec.get("volumes", []) + t.get("volumes", []) + claims + argo_volumes,
            "affinity": t.get("affinity", spec.get("affinity")),
        }
        annotations = dict((spec.get("podMetadata") or {}).get("annotations") or {})
        annotations.update((t.get("metadata") or {}).get("annotations") or {})
        yield t["name"], pod, annotations


def events_pod(doc):
    """The Deployment pod of a Sensor or EventSource."""
    tpl = doc["spec"].get("template") or {}
    c = tpl.get("container") or {}
    main = {"name": "main", "securityContext": c.get("securityContext"), "resources": c.get("resources"),
            "volumeMounts": c.get("volumeMounts", [])}
    volumes = list(tpl.get("volumes", [])) + [
        {"name": "tmp", "emptyDir": {}},
        {"name": "auth-volume", "secret": {"secretName": "<eventbus auth secret, made by the controller>"}}]
    return {"serviceAccountName": tpl.get("serviceAccountName"), "securityContext": tpl.get("securityContext"),
            "containers": [main], "volumes": volumes}


def eventbus_pod(doc):
    js = doc["spec"].get("jetstream")
    if js is None:
        return None
    def container(name, key):
        t = js.get(key) or {}
        return {"name": name, "securityContext": t.get("securityContext"), "resources": t.get("resources")}
    return {"securityContext": js.get("securityContext"),
            "containers": [container("main", "containerTemplate"), container("reloader", "reloaderContainerTemplate"),
                           container("metrics", "metricsContainerTemplate")],
            "volumes": [{"name": "pid", "emptyDir": {}}, {"name": "config-volume", "projected": {}},
                        {"name": "js-data", "persistentVolumeClaim": {"claimName": "js-data"}}]}


def all_pods(docs, executor):
    """(where, level wanted, pod spec, annotations) for every pod an overlay
    makes. imager pods must meet baseline; every other pod restricted."""
    for d in docs:
        kind, name = d.get("kind"), d["metadata"]["name"]
        if kind == "Deployment":
            t = d["spec"]["template"]
            yield f"Deployment {name}", "restricted", t["spec"], (t.get("metadata") or {}).get("annotations") or {}
        elif kind == "WorkflowTemplate":
            for tname, pod, ann in workflow_pods(d, executor):
                main = pod["containers"][1]
                level = "baseline" if main.get("command", [""])[0].endswith("/imager") else "restricted"
                yield f"WorkflowTemplate {name} template {tname}", level, pod, ann
        elif kind in ("Sensor", "EventSource"):
            yield f"{kind} {name}", "restricted", events_pod(d), {}
        elif kind == "EventBus":
            pod = eventbus_pod(d)
            if pod is not None:
                yield f"EventBus {name}", "restricted", pod, {}

"""The Sensor against GitHub deliveries in the shape the argo-events GitHub
EventSource puts them on the bus (argo_events.py): the filter takes the three
deliveries of one pre-release (created, prereleased, published) and nothing
else, and the Workflow each would create has a valid name, the same name for
all three (so the second and third end in AlreadyExists), and the name
sbpipe serve gives the same release.

The payloads are @octokit/webhooks-examples 7.6.1 release examples
(testdata/release.*.json), with the fields a pre-release of the build
repository has set on them. The delivery headers are the ones GitHub
documents for webhook deliveries (docs.github.com, "Webhook events and
payloads", Delivery headers).
"""
import copy
import hashlib
import json
import os
import re

import argo_events

HERE = os.path.dirname(os.path.abspath(__file__))
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def receiver_workflow_name(repo, tag, release_id):
    """sbpipe serve's name for the release: a transcription of
    src/kube/workflow.cpp workflow_name, the oracle the Sensor must agree with."""
    text = (repo.split("/", 1)[1] + "-" + tag + "-" + str(release_id)).lower()
    name = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    if not name or not name[0].isalnum():
        name = "r" + name
    if len(name) <= 63:
        return name
    digest = hashlib.sha256(f"{repo}\n{tag}\n{release_id}".encode()).hexdigest()[:8]
    return name[:54].rstrip("-") + "-" + digest


def delivery(action, repo, tag, release_id, prerelease=True, draft=False, event="release"):
    with open(os.path.join(HERE, "testdata", f"release.{action if action != 'edited' else 'released'}.json")) as f:
        body = json.load(f)
    body["action"] = action
    body["repository"]["full_name"] = repo
    body["repository"]["name"] = repo.split("/", 1)[1]
    body["repository"]["owner"]["login"] = repo.split("/", 1)[0]
    body["release"].update(id=release_id, tag_name=tag, prerelease=prerelease, draft=draft)
    payload = json.dumps(body)
    headers = [
        ("Host", "hooks.example.org"),
        ("User-Agent", "GitHub-Hookshot/044aadd"),
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(payload))),
        ("Accept", "*/*"),
        ("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
        ("X-GitHub-Event", event),
        ("X-GitHub-Hook-ID", "292430182"),
        ("X-GitHub-Hook-Installation-Target-ID", "79929171"),
        ("X-GitHub-Hook-Installation-Target-Type", "repository"),
        ("X-Hub-Signature", "sha1=7d38cdd689735b008b3c702edd92eea23791c5f6"),
        ("X-Hub-Signature-256", "sha256=d57c68ca6f92289e6987922ff26938930f6e66a2d161ef06abdf1859230aa23c"),
    ]
    # Go's server moves Host out of Request.Header.
    return argo_events.event_from_delivery([h for h in headers if h[0] != "Host"], payload)


def _sensor_parts(docs):
    sensors = [d for d in docs if d.get("kind") == "Sensor"]
    return sensors


def check(docs, problem, repo, schemas_validate):
    """Problems of every Sensor in `docs`; `repo` is what the filter must accept."""
    for sensor in _sensor_parts(docs):
        where = f"Sensor {sensor['metadata']['name']}"
        deps = sensor["spec"]["dependencies"]
        if len(deps) != 1:
            problem(where, "expected one dependency")
            continue
        dep = deps[0]
        for trigger in sensor["spec"]["triggers"]:
            k8s = trigger["template"].get("k8s")
            if not k8s:
                problem(where, "only k8s create triggers are modelled")
                continue
            if not trigger.get("retryStrategy"):
                problem(where, "the trigger has no retryStrategy: one failed create loses the release")
            check_trigger(where, dep, k8s, problem, repo, schemas_validate)


def _render(dep, k8s, event):
    if not argo_events.dependency_matches(dep, event):
        return None
    return argo_events.apply_parameters(k8s["source"]["resource"], k8s["parameters"], event)


def check_trigger(where, dep, k8s, problem, repo, schemas_validate):
    tag = "v1.9.0"
    for release_id in (123456789, 17372790, 4242):
        names = {}
        for action in ("created", "prereleased", "published"):
            try:
                wf = _render(dep, k8s, delivery(action, repo, tag, release_id))
            except argo_events.EventError as e:
                problem(where, f"{action} {release_id}: {e}")
                continue
            if wf is None:
                problem(where, f"the filter drops the '{action}' delivery of pre-release {tag} (id {release_id})")
                continue
            name = wf["metadata"]["name"]
            names[action] = name
            if not DNS_LABEL.match(name) or len(name) > 63:
                problem(where, f"{action}: Workflow name {name!r} is not a valid name (the API answers 422)")
            params = {p["name"]: p["value"] for p in wf["spec"]["arguments"]["parameters"]}
            if params.get("release-id") != str(release_id):
                problem(where, f"{action}: release-id parameter is {params.get('release-id')!r}, not {release_id}")
            if params.get("version") != tag or params.get("repo") != repo:
                problem(where, f"{action}: parameters {params}")
            for p in schemas_validate(wf):
                problem(where, f"{action}: the Workflow it creates: {p}")
        if len(set(names.values())) > 1:
            problem(where, f"the three deliveries of one pre-release make different Workflow names {names}: "
                           "more than one build")
        expected = receiver_workflow_name(repo, tag, release_id)
        for action, name in names.items():
            if name != expected:
                problem(where, f"{action}: Workflow name {name!r} differs from sbpipe serve's {expected!r}")
    # A long tag: the name is cut and hashed like sbpipe serve's.
    long_tag = "v1.9.0-" + "rc" * 30
    try:
        wf = _render(dep, k8s, delivery("published", repo, long_tag, 123456789))
        expected = receiver_workflow_name(repo, long_tag, 123456789)
        if wf is None or wf["metadata"]["name"] != expected:
            problem(where, f"long tag: name {wf and wf['metadata']['name']!r}, sbpipe serve's {expected!r}")
    except argo_events.EventError as e:
        problem(where, f"long tag: {e}")
    # What must not start a build.
    refused = {
        "a full release published": delivery("published", repo, tag, 1, prerelease=False),
        "a draft created": delivery("created", repo, tag, 1, draft=True),
        "the release action 'released'": delivery("released", repo, tag, 1),
        "the release action 'edited'": delivery("edited", repo, tag, 1),
        "another repository": delivery("published", "someone/else", tag, 1),
        "a tag that is no version": delivery("published", repo, "nightly", 1),
        "a ping event": delivery("published", repo, tag, 1, event="ping"),
    }
    for what, event in refused.items():
        try:
            if argo_events.dependency_matches(dep, event):
                problem(where, f"the filter accepts {what}")
        except argo_events.EventError as e:
            problem(where, f"{what}: {e}")


def sensor_resource_workflows(docs):
    """The Workflows embedded in Sensor triggers (validated as Workflows)."""
    for s in _sensor_parts(docs):
        for t in s["spec"]["triggers"]:
            k8s = t["template"].get("k8s") or {}
            res = (k8s.get("source") or {}).get("resource")
            if res:
                yield s["metadata"]["name"], copy.deepcopy(res)

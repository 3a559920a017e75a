"""Runs the WorkflowTemplate's steps on paper for one plan, as the Argo
controller would (argo-workflows v3.6.19):

- withParam items: each map item's fields become {{item.<key>}}, printed
  with %v, so lists and maps are their JSON (workflow/controller/operator.go
  processItem; pkg/apis/workflow/v1alpha1/item.go);
- `when`, after substitution, is a govaluate expression in which bare words
  are strings (workflow/controller/steps.go shouldExecute);
- {{name}} takes the value of name; an expression tag {{=...}} is refused:
  the template selects nothing itself (the plan file says what each step acts on);
- podSpecPatch replaces the main container's fields it names (a strategic
  merge; `args` is a plain list, so it is replaced), before the emissary
  wraps `command` (workflow/controller/workflowpod.go), and the container
  runs command + args.

run(doc, plan, sample) returns one Pod per container template run: its
template, the argv it runs, and its inputs.
"""
import json
import re



class RunError(Exception):
    pass


def substitute(text, env):
    """Argo's simple tags: {{name}} is the value of name; {{=...}} is refused."""
    if "{{=" in text:
        raise RunError(f"an expression tag in {text!r}: the template selects nothing itself")

    def tag(m):
        key = m.group(1).strip()
        if key not in env:
            raise RunError(f"no value for {{{{{key}}}}}")
        return env[key]
    return re.sub(r"\{\{([^}]*)\}\}", tag, text)


class Pod:
    def __init__(self, template, argv, inputs, item):
        self.template, self.argv, self.inputs, self.item = template, argv, inputs, item

    def __repr__(self):
        return f"{self.template}: {' '.join(self.argv)}"


def _when(text):
    """govaluate on `a == b && c != d ...` with bare words as strings."""
    def atom(tok):
        if tok in ("true", "false"):
            return tok == "true"
        if re.fullmatch(r"-?\d+(\.\d+)?", tok):
            return float(tok)
        if re.fullmatch(r"[A-Za-z0-9_.:/+-]+", tok):
            return tok
        raise RunError(f"when: cannot read {tok!r}")
    ors = []
    for disjunct in text.split("||"):
        ands = []
        for cmp in disjunct.split("&&"):
            m = re.fullmatch(r"\s*(\S+)\s*(==|!=)\s*(\S+)\s*", cmp)
            if not m:
                raise RunError(f"when: cannot read {cmp!r}")
            a, op, b = atom(m.group(1)), m.group(2), atom(m.group(3))
            same = type(a) is type(b) and a == b
            ands.append(same if op == "==" else not same)
        ors.append(all(ands))
    return any(ors)


def _item_env(item):
    env = {"item": json.dumps(item, separators=(",", ":"))}
    for k, v in item.items():
        if isinstance(v, bool):
            env[f"item.{k}"] = "true" if v else "false"
        elif isinstance(v, (list, dict)):
            env[f"item.{k}"] = json.dumps(v, separators=(",", ":"))
        else:
            env[f"item.{k}"] = str(v)
    return env


def _subst(value, env):
    if isinstance(value, str):
        return substitute(value, env)
    if isinstance(value, list):
        return [_subst(v, env) for v in value]
    if isinstance(value, dict):
        return {k: _subst(v, env) for k, v in value.items()}
    return value


class _Runner:
    def __init__(self, doc, sample):
        self.templates = {t["name"]: t for t in doc["spec"]["templates"]}
        self.entry = doc["spec"]["entrypoint"]
        self.sample = sample
        self.pods = []

    def template(self, name, inputs, item):
        t = self.templates.get(name)
        if t is None:
            raise RunError(f"template {name!r} does not exist")
        declared = [p["name"] for p in (t.get("inputs") or {}).get("parameters", [])]
        if set(declared) != set(inputs):
            raise RunError(f"template {name} takes {sorted(declared)}, was given {sorted(inputs)}")
        env = dict(self.sample)
        env.update({f"inputs.parameters.{k}": v for k, v in inputs.items()})
        if "steps" in t:
            return self.steps(t, env)
        if "container" not in t:
            raise RunError(f"template {name}: only steps and container templates are modelled")
        c = _subst(t["container"], env)
        if "podSpecPatch" in t:
            patch = json.loads(_subst(t["podSpecPatch"], env))
            for pc in patch.get("containers", []):
                if pc.get("name") != "main":
                    raise RunError(f"template {name}: podSpecPatch names container {pc.get('name')}")
                c.update(pc)
        self.pods.append(Pod(name, list(c.get("command", [])) + list(c.get("args", [])), inputs, item))
        outputs = {}
        for p in (t.get("outputs") or {}).get("parameters", []):
            outputs[p["name"]] = self.sample.get(f"outputs.{name}.{p['name']}", "")
        return outputs, c

    def steps(self, t, env):
        for group in t["steps"]:
            results = {}
            for step in group:
                items = [None]
                if "withParam" in step:
                    items = json.loads(substitute(step["withParam"], env))
                for item in items:
                    step_env = dict(env)
                    if item is not None:
                        step_env.update(_item_env(item))
                    if "when" in step and not _when(substitute(step["when"], step_env)):
                        continue
                    args = {p["name"]: substitute(str(p["value"]), step_env)
                            for p in (step.get("arguments") or {}).get("parameters", [])}
                    out = self.template(step["template"], args, item)
                    if out is not None:
                        results[step["name"]] = out
            for sname, out in results.items():
                outputs, container = out if isinstance(out, tuple) else (out, None)
                for k, v in outputs.items():
                    env[f"steps.{sname}.outputs.parameters.{k}"] = v
                if sname in self.sample.get("results", {}):
                    env[f"steps.{sname}.outputs.result"] = self.sample["results"][sname]
        return {}, None


def run(doc, sample):
    """Every pod one run makes. sample: workflow.parameters.* values,
    results {step name: stdout} (the plan's JSON) and outputs.<template>.<name>."""
    r = _Runner(doc, sample)
    r.template(r.entry, {}, None)
    return r.pods

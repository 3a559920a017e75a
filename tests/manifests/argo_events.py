"""Argo Events v1.9 as it handles a GitHub delivery, modelled on its source
(argoproj/argo-events at v1.9.11):

- event_from_delivery: pkg/eventsources/sources/github/start.go. HandleRoute
  wraps the delivery as events.GithubEventData {headers: request.Header (Go
  http.Header: canonical names, every value a list of strings), body,
  metadata (omitted when empty)}; parseValidateRequest decodes the body into
  map[string]interface{}, adds the strings "X-GitHub-Event" and
  "X-GitHub-Delivery", and encodes it again with encoding/json (sorted keys,
  numbers through float64).
- dependency_matches: pkg/sensors/dependencies/filter.go filterData. A
  filter's path goes through gjson; string filters match the regexps on
  Result.String() (an array's raw JSON), bool filters compare
  strconv.ParseBool(value) with Result.Bool(), number filters Result.Float().
- resolve_parameter / apply_parameters: pkg/sensors/triggers/params.go.
  dataTemplate renders against gjson.ParseBytes(payload).Value() (JSON
  numbers become float64) with Sprig; dataKey returns Result.String() (an
  integer keeps its digits). A template that fails falls back to dataKey,
  then value, else the trigger fails.
"""
import json
import re

import gotemplate


class EventError(Exception):
    pass


# --- Go encoding/json -------------------------------------------------------

def _go_float(f):
    # encoding/json floatEncoder: 'f' format unless the exponent is extreme.
    a = abs(f)
    if a != 0 and (a < 1e-6 or a >= 1e21):
        s = gotemplate.format_float_g(f)  # shortest digits, 'e' form
        s = re.sub(r"e([+-])0(\d)$", r"e\1\2", s)
        return s
    if f == int(f) and a < 1e21:
        return str(int(f))
    return repr(f)


def _go_string(s):
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif o < 0x20 or ch in "<>&" or o in (0x2028, 0x2029):
            out.append(f"\\u{o:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def go_json(v):
    """encoding/json.Marshal of a value decoded into interface{}."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return _go_float(float(v))
    if isinstance(v, str):
        return _go_string(v)
    if isinstance(v, list):
        return "[" + ",".join(go_json(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ",".join(_go_string(k) + ":" + go_json(v[k]) for k in sorted(v)) + "}"
    raise EventError(f"cannot encode {type(v).__name__}")


def canonical_header(name):
    """net/textproto.CanonicalMIMEHeaderKey."""
    return "-".join(p[:1].upper() + p[1:].lower() for p in name.split("-"))


def event_from_delivery(headers, payload, metadata=None):
    """The event data the GitHub EventSource puts on the bus for one
    delivery. `headers`: (name, value) pairs as GitHub sends them."""
    body = json.loads(payload)  # json.Unmarshal into map[string]interface{}
    body = json.loads(json.dumps(body), parse_int=float)  # every number a float64
    http_header = {}
    for name, value in headers:
        http_header.setdefault(canonical_header(name), []).append(value)
    for h in ("X-GitHub-Event", "X-GitHub-Delivery"):
        values = http_header.get(canonical_header(h), [])
        body[h] = values[0] if values else ""
    envelope = {"headers": http_header, "body": body}
    if metadata:
        envelope["metadata"] = metadata
    # GithubEventData is a struct: fields in declaration order, not sorted.
    parts = ['"headers":' + go_json(http_header), '"body":' + go_json(body)]
    if metadata:
        parts.append('"metadata":' + go_json(metadata))
    return "{" + ",".join(parts) + "}"


# --- gjson --------------------------------------------------------------------

class Result:
    """gjson.Result for a value found in a document."""

    def __init__(self, value, raw, exists=True):
        self.value, self.raw, self.exists = value, raw, exists

    def string(self):
        v = self.value
        if not self.exists or v is None:
            return ""
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return v
        if isinstance(v, float):
            # Result.String: the raw text when it is an integer, else 'f' -1.
            if re.fullmatch(r"-?[0-9]+", self.raw):
                return self.raw
            return repr(v) if v != int(v) else str(int(v))
        return self.raw  # objects and arrays: their raw JSON

    def bool(self):
        v = self.value
        if isinstance(v, bool):
            return v
        if isinstance(v, str):
            return v.lower() in ("1", "t", "true")  # strconv.ParseBool; errors are false
        if isinstance(v, float):
            return v != 0
        return False

    def float(self):
        v = self.value
        if isinstance(v, bool):
            return 1.0 if v else 0.0
        if isinstance(v, float):
            return v
        if isinstance(v, str):
            try:
                return float(v)
            except ValueError:
                return 0.0
        return 0.0


def _parse(text):
    return json.loads(text, parse_int=float, parse_float=float)


def gjson_get(document, path):
    """gjson.Get for plain paths: keys separated by '.', numeric keys index
    arrays. Wildcards, modifiers and escapes are refused (not modelled)."""
    if re.search(r"[*?#@|\\]", path):
        raise EventError(f"gjson path {path!r} uses syntax this model does not know")
    value = _parse(document)
    for key in path.split("."):
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return Result(None, "", exists=False)
    raw = _raw_of(document, path, value)
    return Result(value, raw)


def _raw_of(document, path, value):
    if isinstance(value, float):
        # The raw number text as it stands in the document (encoded by Go).
        return _go_float(value)
    return go_json(value)


def value_of(document):
    """gjson.ParseBytes(document).Value(): maps, lists, float64, strings."""
    return _parse(document)


# --- Sensor -------------------------------------------------------------------

def _filter_ok(f, event):
    r = gjson_get(event, f["path"])
    if not r.exists:
        return False
    values = f.get("value", [])
    if not values:
        return False
    if f.get("template"):
        raise EventError("data filter templates are not modelled")
    comparator = f.get("comparator", "")
    if f["type"] == "string":
        for v in values:
            m = re.search(v, r.string()) is not None
            if (m and comparator in ("", "=")) or (not m and comparator == "!="):
                return True
        return False
    if f["type"] == "bool":
        for v in values:
            if v.lower() not in ("1", "t", "true", "0", "f", "false"):
                raise EventError(f"bool filter value {v!r}: strconv.ParseBool fails")
            if (v.lower() in ("1", "t", "true")) == r.bool():
                return True
        return False
    if f["type"] == "number":
        ops = {"": lambda a, b: a == b, "=": lambda a, b: a == b, "!=": lambda a, b: a != b,
               ">": lambda a, b: a > b, ">=": lambda a, b: a >= b, "<": lambda a, b: a < b,
               "<=": lambda a, b: a <= b}
        return any(ops[comparator](r.float(), float(v)) for v in values)
    raise EventError(f"unsupported JSON type {f['type']!r}")


def dependency_matches(dependency, event):
    """True when the dependency's filters accept the event."""
    filters = dependency.get("filters") or {}
    unknown = set(filters) - {"data", "dataLogicalOperator"}
    if unknown:
        raise EventError(f"filters {sorted(unknown)} are not modelled")
    data = filters.get("data") or []
    results = [_filter_ok(f, event) for f in data]
    if filters.get("dataLogicalOperator", "and") == "or":
        return any(results)
    return all(results)


def resolve_parameter(src, event):
    """The value a trigger parameter takes from the event, as a string."""
    if src.get("dataTemplate"):
        try:
            out = gotemplate.render(src["dataTemplate"], {"Input": value_of(event)})
            if out not in ("", "<no value>"):
                return out
        except gotemplate.TemplateError:
            pass  # params.go falls back to dataKey, then value
    if src.get("dataKey"):
        r = gjson_get(event, src["dataKey"])
        if r.exists:
            if isinstance(r.value, (dict, list)):
                return r.raw
            return r.string()
    if "value" in src:
        return src["value"]
    raise EventError(f"unable to resolve parameter {src}")


def _set_path(obj, path, value):
    keys = path.split(".")
    for k in keys[:-1]:
        obj = obj[int(k)] if isinstance(obj, list) else obj.setdefault(k, {})
    last = keys[-1]
    if isinstance(obj, list):
        obj[int(last)] = value
    else:
        obj[last] = value


def apply_parameters(resource, parameters, event):
    """A copy of the trigger's resource with the parameters set (sjson.SetBytes
    of a string value; operation overwrite)."""
    out = json.loads(json.dumps(resource))
    for p in parameters:
        if p.get("operation", "overwrite") != "overwrite":
            raise EventError("parameter operations other than overwrite are not modelled")
        _set_path(out, p["dest"], resolve_parameter(p["src"], event))
    return out

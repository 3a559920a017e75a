"""The subset of expr (github.com/expr-lang/expr v1.17.7, what Argo Workflows
3.6 and 3.7 build with) that the WorkflowTemplate's {{=...}} tags and
retryStrategy expressions use, evaluated as expr does:

- literals (single- or double-quoted strings, integers, true, false, nil),
  arrays [a, b], member access a.b and a['b'], `#` inside a predicate { ... };
- operators ! not && and || or == != < <= > >= + (numbers add, strings
  concatenate), parentheses;
- builtins filter, map, concat, flatten, len, fromJSON, toJSON (expr's
  builtin/builtin.go), and Argo's toJson and asInt (util/expr/env/env.go,
  argoproj/pkg expr functions).

How Argo puts a result into the text (util/template/expression_template.go
expressionReplace): the result is JSON-encoded; a string loses its quotes.
Unknown names or functions raise ExprError, so an expression cannot pass
here by using what this model does not know.
"""
import json
import re


class ExprError(Exception):
    pass


_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<num>\d+)
  | (?P<op>==|!=|<=|>=|&&|\|\||[-+*/%<>!.,()\[\]{}#])
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
""", re.X)


def _tokens(text):
    pos, out = 0, []
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ExprError(f"cannot parse {text[pos:]!r}")
        pos = m.end()
        if m.lastgroup == "ws":
            continue
        kind, val = m.lastgroup, m.group()
        if kind == "name" and val in ("and", "or", "not"):
            kind, val = "op", {"and": "&&", "or": "||", "not": "!"}[val]
        out.append((kind, val))
    out.append((None, None))
    return out


_BINARY = [("||",), ("&&",), ("==", "!="), ("<", "<=", ">", ">="), ("+",)]


class _Parser:
    def __init__(self, text):
        self.t, self.i = _tokens(text), 0

    def peek(self):
        return self.t[self.i]

    def take(self, want=None):
        tok = self.t[self.i]
        if want is not None and tok[1] != want:
            raise ExprError(f"expected {want!r}, found {tok[1]!r}")
        self.i += 1
        return tok

    def parse(self):
        node = self.binary(0)
        if self.peek()[0] is not None:
            raise ExprError(f"unexpected {self.peek()[1]!r}")
        return node

    def binary(self, level):
        if level == len(_BINARY):
            return self.unary()
        node = self.binary(level + 1)
        while self.peek()[0] == "op" and self.peek()[1] in _BINARY[level]:
            op = self.take()[1]
            node = ("bin", op, node, self.binary(level + 1))
        return node

    def unary(self):
        if self.peek() == ("op", "!"):
            self.take()
            return ("not", self.unary())
        return self.postfix(self.primary())

    def primary(self):
        kind, val = self.take()
        if kind == "str":
            return ("lit", json.loads('"' + val[1:-1].replace('\\\'', "'").replace('"', '\\"') + '"')
                    if val[0] == "'" else json.loads(val))
        if kind == "num":
            return ("lit", int(val))
        if kind == "name":
            if val in ("true", "false"):
                return ("lit", val == "true")
            if val == "nil":
                return ("lit", None)
            if self.peek() == ("op", "("):
                self.take()
                args = []
                while self.peek() != ("op", ")"):
                    if self.peek() == ("op", "{"):
                        self.take()
                        args.append(("closure", self.binary(0)))
                        self.take("}")
                    else:
                        args.append(self.binary(0))
                    if self.peek() == ("op", ","):
                        self.take()
                self.take(")")
                return ("call", val, args)
            return ("name", val)
        if (kind, val) == ("op", "#"):
            return ("pointer",)
        if (kind, val) == ("op", "("):
            node = self.binary(0)
            self.take(")")
            return node
        if (kind, val) == ("op", "["):
            items = []
            while self.peek() != ("op", "]"):
                items.append(self.binary(0))
                if self.peek() == ("op", ","):
                    self.take()
            self.take("]")
            return ("array", items)
        raise ExprError(f"unexpected {val!r}")

    def postfix(self, node):
        while True:
            if self.peek() == ("op", "."):
                self.take()
                node = ("member", node, ("lit", self.take()[1]))
            elif self.peek() == ("op", "["):
                self.take()
                node = ("member", node, self.binary(0))
                self.take("]")
            else:
                return node


def _as_int(v):
    if isinstance(v, bool):
        raise ExprError("asInt of a bool")
    if isinstance(v, (int, float)):
        return int(v)
    try:
        return int(str(v))
    except ValueError:
        try:
            return int(float(str(v)))
        except ValueError as e:
            raise ExprError(f"asInt({v!r}): {e}") from e


def _flatten(v):
    out = []
    for x in v:
        out.extend(_flatten(x) if isinstance(x, list) else [x])
    return out


class _Eval:
    def __init__(self, env):
        self.env, self.stack = env, []

    def ev(self, n):
        k = n[0]
        if k == "lit":
            return n[1]
        if k == "name":
            if n[1] not in self.env:
                raise ExprError(f"unknown name {n[1]}")
            return self.env[n[1]]
        if k == "pointer":
            if not self.stack:
                raise ExprError("# outside a predicate")
            return self.stack[-1]
        if k == "array":
            return [self.ev(x) for x in n[1]]
        if k == "member":
            base, key = self.ev(n[1]), self.ev(n[2])
            if isinstance(base, dict):
                if key not in base:
                    raise ExprError(f"no field {key!r}")
                return base[key]
            if isinstance(base, list) and isinstance(key, int):
                return base[key]
            raise ExprError(f"cannot fetch {key!r} from {type(base).__name__}")
        if k == "not":
            v = self.ev(n[1])
            if not isinstance(v, bool):
                raise ExprError("! needs a bool")
            return not v
        if k == "bin":
            return self.binary(n[1], n[2], n[3])
        if k == "call":
            return self.call(n[1], n[2])
        raise ExprError(f"bad node {k}")

    def binary(self, op, a, b):
        if op in ("&&", "||"):
            left = self.ev(a)
            if not isinstance(left, bool):
                raise ExprError(f"{op} needs bools")
            if (op == "&&" and not left) or (op == "||" and left):
                return left
            right = self.ev(b)
            if not isinstance(right, bool):
                raise ExprError(f"{op} needs bools")
            return right
        x, y = self.ev(a), self.ev(b)
        if op == "==":
            return x == y and type(x) is type(y) or (x is None and y is None)
        if op == "!=":
            return not (x == y and type(x) is type(y))
        if op == "+":
            if isinstance(x, str) and isinstance(y, str):
                return x + y
            if isinstance(x, (int, float)) and isinstance(y, (int, float)) and not isinstance(x, bool):
                return x + y
            raise ExprError(f"invalid operation: {type(x).__name__} + {type(y).__name__}")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (x, y)):
            raise ExprError(f"{op} needs numbers")
        return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]

    def closure(self, node, item):
        self.stack.append(item)
        try:
            return self.ev(node)
        finally:
            self.stack.pop()

    def call(self, name, args):
        if name in ("filter", "map"):
            if len(args) != 2 or args[1][0] != "closure":
                raise ExprError(f"{name}(array, {{predicate}})")
            seq = self.ev(args[0])
            if not isinstance(seq, list):
                raise ExprError(f"{name} of a {type(seq).__name__}")
            if name == "map":
                return [self.closure(args[1][1], x) for x in seq]
            out = []
            for x in seq:
                keep = self.closure(args[1][1], x)
                if not isinstance(keep, bool):
                    raise ExprError("filter predicate must be a bool")
                if keep:
                    out.append(x)
            return out
        values = [self.ev(a) for a in args]
        if name == "concat":
            if not all(isinstance(v, list) for v in values):
                raise ExprError("concat of non-arrays")
            return [x for v in values for x in v]
        if name == "flatten":
            return _flatten(values[0])
        if name == "len":
            return len(values[0])
        if name == "fromJSON":
            return json.loads(values[0])
        if name in ("toJson", "toJSON"):
            if name == "toJSON":
                return json.dumps(values[0], indent="  ", ensure_ascii=False)
            return json.dumps(values[0], separators=(",", ":"), ensure_ascii=False)
        if name == "asInt":
            return _as_int(values[0])
        raise ExprError(f"function {name!r} not defined (or not modelled)")


def nest(flat):
    """Argo's expression environment: dotted keys become nested maps
    (util/expand Expand), e.g. "steps.plan.outputs.result"."""
    env = {}
    for key, value in flat.items():
        parts = key.split(".")
        d = env
        for p in parts[:-1]:
            d = d.setdefault(p, {})
        d[parts[-1]] = value
    return env


def evaluate(expression, flat_env):
    """The value of an expression in an environment of dotted names."""
    return _Eval(nest(flat_env)).ev(_Parser(expression).parse())


def substitute(text, flat_env):
    """Replaces every {{=expr}} as Argo does: the JSON of the result, with a
    string's quotes dropped; plain {{name}} tags take the value of name."""
    def expr_tag(m):
        result = evaluate(m.group(1), flat_env)
        encoded = json.dumps(result, separators=(",", ":"), ensure_ascii=False)
        return result if isinstance(result, str) else encoded

    def simple_tag(m):
        key = m.group(1).strip()
        if key not in flat_env:
            raise ExprError(f"no value for {{{{{key}}}}}")
        return flat_env[key]

    text = re.sub(r"\{\{=(.*?)\}\}", expr_tag, text)
    return re.sub(r"\{\{([^=][^}]*)\}\}", simple_tag, text)

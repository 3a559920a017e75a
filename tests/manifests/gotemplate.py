"""A Go text/template interpreter for the subset the Sensor's dataTemplate uses,
with the Sprig functions argo-events registers (sprig.FuncMap()), faithful where
the Workflow name depends on it:

- values print as Go's fmt %v prints them (text/template's printValue calls
  fmt.Fprint); float64 prints as strconv.FormatFloat(f, 'g', -1, 64), which
  switches to exponent form when the decimal exponent is < -4 or >= 6
  (Go src/strconv/ftoa.go, formatDigits: "if precision was the shortest
  possible, use precision 6 for this decision"), so 123456789.0 prints
  1.23456789e+08;
- a missing map key yields no value, printed "<no value>";
- pipelines pass the previous value as the last argument; {{- and -}} trim
  the white space next to the action; variables, if/else/end, parentheses.

Anything outside the subset raises TemplateError (the test then fails), so a
template cannot pass here by using what this model does not know.
"""
import hashlib
import re


class TemplateError(Exception):
    pass


class NoValue:
    """A missing map key (reflect's invalid Value): prints "<no value>"."""

    def __repr__(self):
        return "<no value>"


NO_VALUE = NoValue()


class GoInt(int):
    """An int64/int from a function (int64, len): prints as decimal digits."""


def format_float_g(f):
    """strconv.FormatFloat(f, 'g', -1, 64), from Go src/strconv/ftoa.go."""
    if f != f:
        return "NaN"
    if f in (float("inf"), float("-inf")):
        return "+Inf" if f > 0 else "-Inf"
    if f == 0:
        return "-0" if str(f).startswith("-") else "0"
    neg = f < 0
    # Python's repr is the shortest round-trip decimal, as Go's shortest mode.
    digits, point_exp = _shortest_digits(abs(f))
    nd = len(digits)
    dp = point_exp  # decimal point position: value = 0.d1d2... * 10^dp
    x = dp - 1
    eprec = 6  # shortest: precision 6 for the %e decision
    if x < -4 or x >= eprec:
        s = digits[0] + ("." + digits[1:] if nd > 1 else "")
        sign = "-" if x < 0 else "+"
        e = abs(x)
        s += "e" + sign + (f"{e:02d}")
    else:
        if dp <= 0:
            s = "0." + "0" * (-dp) + digits
        elif dp >= nd:
            s = digits + "0" * (dp - nd)
        else:
            s = digits[:dp] + "." + digits[dp:]
    return ("-" if neg else "") + s


def _shortest_digits(f):
    """(digits, dp) of the shortest decimal that round-trips f (f > 0)."""
    r = repr(f)
    if "e" in r or "E" in r:
        m, e = r.lower().split("e")
        e = int(e)
    else:
        m, e = r, 0
    if "." in m:
        ip, fp = m.split(".")
    else:
        ip, fp = m, ""
    if fp == "0":
        fp = ""
    digits = (ip + fp).lstrip("0")
    lead_zeros = len(ip + fp) - len((ip + fp).lstrip("0"))
    dp = len(ip) + e - lead_zeros
    digits = digits.rstrip("0") or "0"
    return digits, dp


def go_print(v):
    """fmt %v of a value as text/template holds it."""
    if v is NO_VALUE or v is None:
        return "<no value>" if v is NO_VALUE else "<nil>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return format_float_g(v)
    if isinstance(v, int):
        return str(int(v))
    if isinstance(v, str):
        return v
    if isinstance(v, list):
        return "[" + " ".join(go_print(x) for x in v) + "]"
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{go_print(v[k])}" for k in sorted(v)) + "]"
    raise TemplateError(f"cannot print {type(v).__name__}")


def truth(v):
    """text/template's truth: the zero value of the type is false."""
    if v is NO_VALUE or v is None:
        return False
    if isinstance(v, (bool, int, float, str, list, dict)):
        return bool(v)
    raise TemplateError(f"no truth value for {type(v).__name__}")


def _to_int64(v):
    # Sprig toInt64 is cast.ToInt64: float64 truncates, strings parse, bad gives 0.
    if isinstance(v, bool):
        return GoInt(1 if v else 0)
    if isinstance(v, (int, float)):
        return GoInt(int(v))
    if isinstance(v, str):
        try:
            return GoInt(int(v, 10))
        except ValueError:
            return GoInt(0)
    return GoInt(0)


def _printf(fmt, *args):
    out, i, k = [], 0, 0
    while i < len(fmt):
        c = fmt[i]
        if c != "%":
            out.append(c)
            i += 1
            continue
        verb = fmt[i + 1]
        i += 2
        if verb == "%":
            out.append("%")
            continue
        a = args[k]
        k += 1
        if verb == "s" or verb == "v":
            out.append(go_print(a))
        elif verb == "d":
            if not isinstance(a, int) or isinstance(a, bool):
                go_type = {"float": "float64", "str": "string", "bool": "bool"}.get(type(a).__name__, type(a).__name__)
                out.append(f"%!d({go_type}={go_print(a)})")
            else:
                out.append(str(int(a)))
        else:
            raise TemplateError(f"printf verb %{verb} not modelled")
    return "".join(out)


def _go_regexp(expr):
    # RE2 and Python agree on the classes and quantifiers used here.
    if re.search(r"\\[pPQE]|\(\?[^:]", expr):
        raise TemplateError(f"regexp {expr!r} uses syntax not modelled")
    return re.compile(expr)


def _trim_all(cutset, s):
    return s.strip(cutset)


def _split_list(sep, s):
    return s.split(sep)


def _last(lst):
    return lst[-1] if lst else None


def _trunc(c, s):
    if c < 0 and len(s) + c > 0:
        return s[len(s) + c:]
    if c >= 0 and len(s) > c:
        return s[:c]
    return s


FUNCS = {
    # text/template builtins
    "printf": _printf,
    "len": lambda v: GoInt(len(v)),
    "gt": lambda a, b: a > b,
    "lt": lambda a, b: a < b,
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "not": lambda a: not truth(a),
    # Sprig (github.com/Masterminds/sprig/v3 functions.go, strings.go, regex.go, numeric.go)
    "lower": lambda s: s.lower(),
    "upper": lambda s: s.upper(),
    "replace": lambda old, new, src: src.replace(old, new),
    "regexReplaceAll": lambda regex, s, repl: _go_regexp(regex).sub(repl.replace("\\", "\\\\"), s),
    "trimAll": _trim_all,
    "trimSuffix": lambda suffix, s: s[: -len(suffix)] if suffix and s.endswith(suffix) else s,
    "trimPrefix": lambda prefix, s: s[len(prefix):] if prefix and s.startswith(prefix) else s,
    "trunc": _trunc,
    "splitList": _split_list,
    "last": _last,
    "sha256sum": lambda s: hashlib.sha256(s.encode()).hexdigest(),
    "int64": _to_int64,
    "toString": go_print,
}

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<num>-?\d+)
  | (?P<declare>:=)
  | (?P<var>\$[A-Za-z0-9_]*)
  | (?P<field>(?:\.[A-Za-z0-9_]+)+|\.)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<pipe>\|)
  | (?P<lp>\()
  | (?P<rp>\))
""", re.X)

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"'}


def _unquote(s):
    out, i = [], 1
    while i < len(s) - 1:
        if s[i] == "\\":
            if s[i + 1] not in _ESCAPES:
                raise TemplateError(f"escape \\{s[i + 1]} not modelled")
            out.append(_ESCAPES[s[i + 1]])
            i += 2
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def _tokens(text):
    """(kind, text, spaced): spaced tells a separate operand ($x .F) from a
    field chain ($x.F)."""
    pos, toks, spaced = 0, [], True
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise TemplateError(f"cannot parse action text {text[pos:]!r}")
        pos = m.end()
        if m.lastgroup == "ws":
            spaced = True
            continue
        toks.append((m.lastgroup, m.group(), spaced))
        spaced = False
    return toks


def _split_actions(src):
    """[("text", s) | ("action", s)] with {{- / -}} trimming applied."""
    parts, pos = [], 0
    while True:
        start = src.find("{{", pos)
        if start < 0:
            parts.append(("text", src[pos:]))
            break
        end = src.find("}}", start)
        if end < 0:
            raise TemplateError("unclosed action")
        inner = src[start + 2:end]
        text = src[pos:start]
        if inner.startswith("- ") or inner.startswith("-\t") or inner.startswith("-\n"):
            text = text.rstrip(" \t\r\n")
            inner = inner[1:]
        trim_right = inner.endswith(" -") or inner.endswith("\t-") or inner.endswith("\n-")
        if trim_right:
            inner = inner[:-1]
        parts.append(("text", text))
        parts.append(("action", inner.strip()))
        pos = end + 2
        if trim_right:
            while pos < len(src) and src[pos] in " \t\r\n":
                pos += 1
    return [p for p in parts if p != ("text", "")]


class _Parser:
    def __init__(self, toks):
        self.toks, self.i = toks, 0

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None, True)

    def take(self):
        t = self.peek()
        self.i += 1
        return t

    def pipeline(self, end=None):
        cmds = [self.command()]
        while self.peek()[0] == "pipe":
            self.take()
            cmds.append(self.command())
        if end is None and self.i != len(self.toks):
            raise TemplateError(f"unexpected {self.peek()[1]!r}")
        return ("pipeline", cmds)

    def command(self):
        args = []
        while self.peek()[0] not in (None, "pipe", "rp"):
            args.append(self.operand())
        if not args:
            raise TemplateError("empty command")
        return ("command", args)

    def operand(self):
        kind, val, _ = self.take()
        if kind == "lp":
            p = self.pipeline(end="rp")
            if self.take()[0] != "rp":
                raise TemplateError("missing )")
            node = ("paren", p)
        elif kind == "str":
            node = ("lit", _unquote(val))
        elif kind == "raw":
            node = ("lit", val[1:-1])
        elif kind == "num":
            node = ("lit", GoInt(int(val)))
        elif kind == "field":
            node = ("field", None, val)
        elif kind == "var":
            node = ("var", val)
        elif kind == "ident":
            node = ("lit", val == "true") if val in ("true", "false") else ("func", val)
        else:
            raise TemplateError(f"unexpected {val!r}")
        if self.peek()[0] == "field" and not self.peek()[2] and node[0] in ("var", "paren"):
            node = ("field", node, self.take()[1])
        return node


def _lookup(value, chain):
    for name in chain.strip(".").split(".") if chain != "." else []:
        if isinstance(value, dict):
            value = value.get(name, NO_VALUE)
        elif value is NO_VALUE:
            raise TemplateError(f"nil pointer evaluating .{name}")
        else:
            raise TemplateError(f"can't evaluate field {name} in {type(value).__name__}")
    return value


class _Exec:
    def __init__(self, dot):
        self.dot, self.vars = dot, [{"$": dot}]

    def var(self, name):
        for scope in reversed(self.vars):
            if name in scope:
                return scope[name]
        raise TemplateError(f"undefined variable {name}")

    def pipeline(self, node):
        value, first = None, True
        for _, args in node[1]:
            value = self.command(args, None if first else value, first)
            first = False
        return value

    def command(self, args, piped, first):
        head = args[0]
        if head[0] == "func":
            fn = FUNCS.get(head[1])
            if fn is None:
                raise TemplateError(f"function {head[1]!r} not defined (or not modelled)")
            values = [self.operand(a) for a in args[1:]]
            if not first:
                values.append(piped)
            try:
                return fn(*values)
            except TemplateError:
                raise
            except Exception as e:  # a wrong type or arity, as Go would report at execution
                raise TemplateError(f"error calling {head[1]}: {e}") from e
        if len(args) > 1 or not first:
            raise TemplateError("can't give argument to non-function")
        return self.operand(head)

    def operand(self, node):
        kind = node[0]
        if kind == "lit":
            return node[1]
        if kind == "var":
            return self.var(node[1])
        if kind == "paren":
            return self.pipeline(node[1])
        if kind == "field":
            base = self.dot if node[1] is None else self.operand(node[1])
            return _lookup(base, node[2])
        if kind == "func":
            return self.command([node], None, True)
        raise TemplateError(f"bad operand {node}")


def render(src, dot):
    """Executes template `src` with data `dot`; returns the output text."""
    parts = _split_actions(src)
    ex = _Exec(dot)
    out = []

    def run(i, emit):
        while i < len(parts):
            kind, text = parts[i]
            if kind == "text":
                if emit:
                    out.append(text)
                i += 1
                continue
            words = text.split(None, 1)
            if words and words[0] == "if":
                cond = truth(ex.pipeline(_Parser(_tokens(words[1])).pipeline())) if emit else False
                i = run(i + 1, emit and cond)
                if parts[i] == ("action", "else"):
                    i = run(i + 1, emit and not cond)
                if parts[i] != ("action", "end"):
                    raise TemplateError("if without end")
                i += 1
                continue
            if text in ("else", "end"):
                return i
            toks = _tokens(text)
            if len(toks) >= 2 and toks[0][0] == "var" and toks[1][0] == "declare":
                value = ex.pipeline(_Parser(toks[2:]).pipeline()) if emit else None
                ex.vars[-1][toks[0][1]] = value
            elif emit:
                out.append(go_print(ex.pipeline(_Parser(toks).pipeline())))
            i += 1
        return i

    if run(0, True) != len(parts):
        raise TemplateError("unexpected else/end")
    return "".join(out)

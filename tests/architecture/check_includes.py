#!/usr/bin/env python3
"""Checks src/ against the include rules in ARCHITECTURE.md.

Usage: check_includes.py REPO_ROOT    (exit 0: no back-edge; 1: one line per violation)
       check_includes.py --self-test  (the check itself: a back-edge and a leaked
                                       third-party header in a scratch tree must be found)

The rules are read from ARCHITECTURE.md's include-rules block ("folder: allowed
folders...") and adapter-rules block ("header-prefix files-or-folders..."), so the
document and the check cannot drift. Every folder under src/ must have a rule.
"""
import os
import re
import sys
import tempfile

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def block(text, name):
    m = re.search(r"<!-- %s:begin -->\s*```\n(.*?)```\s*<!-- %s:end -->" % (name, name), text, re.S)
    if not m:
        raise SystemExit("ARCHITECTURE.md: no %s block" % name)
    return [line for line in m.group(1).splitlines() if line.strip()]


def read_rules(root):
    text = open(os.path.join(root, "ARCHITECTURE.md"), encoding="utf-8").read()
    layers = {}
    for line in block(text, "include-rules"):
        folder, _, allowed = line.partition(":")
        layers[folder.strip()] = set(allowed.split()) | {folder.strip()}
    adapters = []
    for line in block(text, "adapter-rules"):
        words = line.split()
        adapters.append((words[0], words[1:]))
    return layers, adapters


def folder_of(rel):
    # "pipeline/local_run.cpp" -> "pipeline"; "main.cpp" -> "main"
    return rel.split("/", 1)[0] if "/" in rel else os.path.splitext(rel)[0]


def check(root):
    layers, adapters = read_rules(root)
    src = os.path.join(root, "src")
    problems = []
    for dirpath, _, files in os.walk(src):
        for name in sorted(files):
            if not name.endswith((".h", ".cpp")):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, src).replace(os.sep, "/")
            mine = folder_of(rel)
            if mine not in layers:
                problems.append("src/%s: folder %s has no rule in ARCHITECTURE.md" % (rel, mine))
                continue
            text = open(path, encoding="utf-8", errors="replace").read()
            for kind, target in INCLUDE.findall(text):
                line = text[: text.find(target)].count("\n") + 1
                if kind == '"':
                    theirs = target.split("/", 1)[0] if "/" in target else None
                    if theirs and theirs not in layers.get(mine, ()):
                        problems.append('src/%s:%d: includes "%s": %s may include only %s' %
                                        (rel, line, target, mine, " ".join(sorted(layers[mine] - {mine})) or "itself"))
                    continue
                for prefix, owners in adapters:
                    if target == prefix or target.startswith(prefix):
                        if not any(rel == o or (o.endswith("/") and rel.startswith(o)) for o in owners):
                            problems.append("src/%s:%d: includes <%s>, which only %s may include" %
                                            (rel, line, target, " ".join(owners)))
    return problems


def self_test():
    with tempfile.TemporaryDirectory(prefix="sbpipe-arch-") as root:
        here = os.path.dirname(os.path.abspath(__file__))
        text = open(os.path.join(here, "..", "..", "ARCHITECTURE.md"), encoding="utf-8").read()
        open(os.path.join(root, "ARCHITECTURE.md"), "w").write(text)
        for rel, body in {
            "src/core/error.h": '#include <string>\n',
            "src/http/client.h": '#include "core/error.h"\n#include "pipeline/steps.h"\n',  # back-edge
            "src/pipeline/steps.h": '#include "http/client.h"\n',
            "src/oci/pusher.cpp": '#include <curl/curl.h>\n',  # curl outside its adapter
            "src/http/curl_client.cpp": '#include <curl/curl.h>\n',
            "src/nowhere/x.h": '\n',
        }.items():
            os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
            open(os.path.join(root, rel), "w").write(body)
        got = check(root)
        want = [
            'src/http/client.h:2: includes "pipeline/steps.h": http may include only core',
            "src/nowhere/x.h: folder nowhere has no rule in ARCHITECTURE.md",
            "src/oci/pusher.cpp:1: includes <curl/curl.h>, which only http/curl_client.cpp may include",
        ]
        if sorted(got) != sorted(want):
            print("self-test failed:\n  got:  %s\n  want: %s" % (got, want))
            return 1
    print("ok: the include check finds a back-edge, a leaked adapter header and a folder without a rule")
    return 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    if len(argv) != 2:
        print(__doc__)
        return 2
    problems = check(argv[1])
    for p in problems:
        print(p)
    if problems:
        print("%d include rule violation(s); see ARCHITECTURE.md" % len(problems))
        return 1
    print("ok: src/ follows ARCHITECTURE.md's include rules")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env python3
"""The docs check (ctest `docs`): what README.md and docs/*.md name exists.

- every `sbpipe ...` command line (in backticks, or a code-block line starting with
  `sbpipe`): its subcommands are the binary's (`sbpipe --help`, `sbpipe CMD --help`), and
  each --flag in it is one that command or the root takes;
- every pipeline chain written with arrows ("plan → imager → ... → finalize") names only the
  steps `sbpipe run --help` lists;
- every release asset name (ISOs, network-boot files, iPXE scripts, checksum files) is one a
  plan can publish (`sbpipe plan -o json` over every output and architecture), `<arch>`
  standing for amd64 or arm64; or one of the legacy names below, which the docs may still
  mention as such;
- every command has its man page (sbpipe-run.1, ...), which man shows with the command's
  synopsis, and sbpipe.1's SEE ALSO names it;
- every repository path (`src/...`, `scripts/...`, `tests/...`, `manifests/...`, `docs/...`,
  relative Markdown links) exists in the tree.

Usage: check_docs.py SBPIPE ROOT   (exit 0: nothing stale; 1: one line per problem)
       check_docs.py --self-test SBPIPE ROOT   (a stale command, flag, step, asset and path
                                                planted in a copy must each be found)
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

# Names the docs may mention that no current build publishes, each with why.
LEGACY_ASSETS = {
    "sha256sums.txt": "the single checksum file of sbpipe before the two listings; still read",
}
# Flags the docs name on purpose although the command refuses them.
REFUSED_FLAGS = {
    ("run", "--version"): "docs/cli.md shows the refusal and its hint",
}
ASSET = re.compile(r"(?<![\w./:-])((?:metal|vmlinuz|initramfs|cmdline-metal|installer)-[\w<>\[\]-]*(?:\.\w+)*"
                   r"|sha(?:256|512)sums?\.txt)(?![\w.-])")


def asset_names(text):
    """The asset names in `text`, `[...]` (an optional part) written out both ways; a word
    that names no architecture and has no extension ("installer-shaped") is no asset."""
    for token in set(ASSET.findall(text)):
        if not re.search(r"<arch>|amd64|arm64|\.", token):
            continue
        m = re.search(r"\[([^\]]*)\]", token)
        if m:
            yield token[:m.start()] + token[m.end():]
            yield token[:m.start()] + m.group(1) + token[m.end():]
        else:
            yield token
PATH = re.compile(r"(?<![\w./-])((?:src|scripts|tests|manifests|docs|fuzz|cmake)/[\w./<>*-]+)")
CHAIN = re.compile(r"((?:[\w:-]+ ?(?:\([^)]*\) ?)?→ ?)+[\w:-]+)")


def help_text(sbpipe, words):
    r = subprocess.run([sbpipe] + words + ["--help"], capture_output=True, text=True)
    return r.stdout + r.stderr


def commands_and_flags(sbpipe):
    """{"": root flags, "run": flags, "keys check": flags, ...} from the binary's help."""
    table = {}

    def visit(words):
        text = help_text(sbpipe, words)
        table[" ".join(words)] = set(re.findall(r"(?<![\w-])(--[a-z][\w-]*)", text))
        section = text.split("Subcommands:", 1)
        if len(section) == 2:
            for line in section[1].splitlines():
                m = re.match(r"  ([a-z][\w-]*)\s", line)
                if m and m.group(1) != "help":
                    visit(words + [m.group(1)])
    visit([])
    table["help"] = table[""]  # `sbpipe help [COMMAND...]` prints a command's help
    return table


def plan_assets(sbpipe, root):
    outputs = ["secureboot-installer", "secureboot-iso", "iso", "installer", "secureboot-metal", "metal"]
    config = "imager:\n  unverified_outputs: [secureboot-metal, metal]\n"
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        f.write(config)
        f.flush()
        args = [sbpipe, "plan", "--tag", "v1.13.0", "--config", f.name, "-o", "json", "--arch", "amd64", "--arch", "arm64"]
        for o in outputs:
            args += ["--output", o]
        r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("check_docs: sbpipe plan failed: " + r.stderr)
    plan = json.loads(r.stdout)
    names = {a["name"] for a in plan["publish"]["assets"]}
    names |= {i["output_file"] for i in plan["invocations"]}
    return names | {n.replace("amd64", "<arch>").replace("arm64", "<arch>") for n in names}


def steps(sbpipe):
    text = help_text(sbpipe, ["run"])
    m = re.search(r"Steps: ([^\n(]*)", text)
    if not m:
        raise SystemExit("check_docs: `sbpipe run --help` lists no steps")
    return {s.strip() for s in m.group(1).split("→")}


def doc_files(root):
    files = [os.path.join(root, "README.md"), os.path.join(root, "ARCHITECTURE.md")]
    files += sorted(os.path.join(root, "docs", f) for f in os.listdir(os.path.join(root, "docs")) if f.endswith(".md"))
    return files


def command_spans(text):
    for m in re.finditer(r"`(sbpipe [^`\n]*)`", text):
        yield m.group(1)
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.S):
        for line in block.splitlines():
            if line.startswith("sbpipe "):
                yield line.split("#")[0]


def check_command(span, table, where, problems):
    words = span.split()[1:]
    path = []
    for w in words:
        candidate = " ".join(path + [w])
        if candidate in table:
            path.append(w)
            continue
        if path == ["help"] and " ".join(words[1:]).split(" -")[0].strip() in table:
            return  # `sbpipe help keys check`
        if re.fullmatch(r"[a-z][a-z-]*", w) and not path:
            problems.append(f"{where}: `{span}`: sbpipe has no command '{w}'")
            return
        break
    cmd = " ".join(path)
    allowed = table.get(cmd, set()) | table[""]
    for flag in re.findall(r"(?<![\w-])(--[a-z][\w-]*)", span):
        if flag not in allowed and (cmd, flag) not in REFUSED_FLAGS:
            problems.append(f"{where}: `{span}`: 'sbpipe {cmd}' has no flag {flag}")


def man_page_problems(sbpipe, table):
    """Every command has its page (scripts/man-pages, run when sbpipe links: SHARE/man1/
    sbpipe-WORDS.1, beside the binary), rendered by man with the command's synopsis, and
    sbpipe.1's SEE ALSO names it."""
    problems = []
    share = os.path.join(os.path.dirname(os.path.abspath(sbpipe)), "share")
    main = os.path.join(share, "sbpipe.1")
    if not os.path.exists(main):
        return [f"{main}: no man page (help2man runs when sbpipe links)"]
    see_also = open(main, encoding="utf-8").read().split(".SH \"SEE ALSO\"")[-1]
    for command in sorted(c for c in table if c and c != "help"):
        name = "sbpipe-" + command.replace(" ", "-")
        page = os.path.join(share, "man1", name + ".1")
        if not os.path.exists(page):
            problems.append(f"sbpipe {command}: no man page {name}.1")
            continue
        shown = subprocess.run(["man", "-l", "-P", "cat", page], capture_output=True, text=True,
                               env=dict(os.environ, MANWIDTH="200", LC_ALL="C.UTF-8"))
        if shown.returncode != 0 or f"{name} - " not in shown.stdout or f"sbpipe {command} [OPTIONS]" not in shown.stdout:
            problems.append(f"{name}.1: man does not show its name and synopsis 'sbpipe {command} [OPTIONS]'")
        if f".BR {name} (1)" not in see_also:
            problems.append(f"sbpipe.1: SEE ALSO does not name {name}(1)")
    return problems


def check(sbpipe, root, man_pages=True):
    problems = []
    table = commands_and_flags(sbpipe)
    if man_pages:  # the binary's, not the tree's: the self-test's plants do not touch them
        problems += man_page_problems(sbpipe, table)
    assets = plan_assets(sbpipe, root)
    known_steps = steps(sbpipe)
    for path in doc_files(root):
        rel = os.path.relpath(path, root)
        text = open(path, encoding="utf-8").read()
        for span in command_spans(text):
            check_command(span, table, rel, problems)
        for chain in CHAIN.findall(text):
            if "plan" not in chain and "finalize" not in chain:
                continue  # an arrow between other things (a webhook's path, a key's state)
            for word in re.sub(r"\([^)]*\)", "", chain).split("→"):
                word = word.strip()
                if word and word not in known_steps and word.split(":")[0] not in known_steps:
                    problems.append(f"{rel}: '{chain}': '{word}' is not a step of run ({' → '.join(sorted(known_steps))})")
        for name in set(asset_names(text)):
            if name not in assets and name not in LEGACY_ASSETS:
                problems.append(f"{rel}: asset {name} is not one a plan publishes")
        for p in set(PATH.findall(text)):
            p = p.rstrip(".,:")
            if "<" in p or "*" in p or p.endswith("/..."):
                continue
            if not os.path.exists(os.path.join(root, p)):
                problems.append(f"{rel}: path {p} does not exist")
        for link in re.findall(r"\]\(([^)#:\s]+)(?:#[^)]*)?\)", text):
            if not os.path.exists(os.path.join(os.path.dirname(path), link)):
                problems.append(f"{rel}: link {link} does not exist")
    return problems


def self_test(sbpipe, root):
    plants = [
        ("the command", "\n`sbpipe pxe-extrakt ISO`\n", "sbpipe has no command 'pxe-extrakt'"),
        ("the flag", "\n`sbpipe upload-assets --plan P --outdir D`\n", "has no flag --outdir"),
        ("the step", "\nplan → imager → verify → pxe-extract → finalize\n", "'pxe-extract' is not a step"),
        ("the asset", "\nthe `metal-<arch>.pxe` script\n", "asset metal-<arch>.pxe is not one"),
        ("the path", "\nsee `src/pipeline/local_run.cpp`\n", "path src/pipeline/local_run.cpp does not exist"),
    ]
    failed = 0
    for what, text, expected in plants:
        with tempfile.TemporaryDirectory() as tmp:
            copy = os.path.join(tmp, "tree")
            shutil.copytree(root, copy, ignore=lambda d, names: [n for n in names if d == root and (n.startswith("build") or n == ".git")])
            with open(os.path.join(copy, "docs", "cli.md"), "a") as f:
                f.write(text)
            found = check(sbpipe, copy, man_pages=False)
            if not any(expected in p for p in found):
                print(f"self-test: {what} planted ({text.strip()!r}) was not found; got {found}")
                failed += 1
            else:
                print(f"self-test: found {what}")
    # A command without its page: sbpipe linked beside a copy of its pages that lacks one.
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(os.path.join(os.path.dirname(os.path.abspath(sbpipe)), "share"), os.path.join(tmp, "share"))
        os.remove(os.path.join(tmp, "share", "man1", "sbpipe-runs-logs.1"))
        os.symlink(os.path.abspath(sbpipe), os.path.join(tmp, "sbpipe"))
        found = man_page_problems(os.path.join(tmp, "sbpipe"), commands_and_flags(sbpipe))
        if not any("no man page sbpipe-runs-logs.1" in p for p in found):
            print(f"self-test: the missing page sbpipe-runs-logs.1 was not found; got {found}")
            failed += 1
        else:
            print("self-test: found the missing man page")
    return 1 if failed else 0


def main():
    if sys.argv[1] == "--self-test":
        return self_test(sys.argv[2], sys.argv[3])
    problems = check(sys.argv[1], sys.argv[2])
    for p in problems:
        print(p)
    if not problems:
        print("docs: every command, flag, step, asset and path named exists; every command has its man page")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

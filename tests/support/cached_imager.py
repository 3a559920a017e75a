#!/usr/bin/python3
"""The Talos imager model (scripts/standin-imager) behind a cache, for the test cases that run
`sbpipe run` and do not test the model itself: one command line (its arguments, the key files,
the STANDIN_* environment) makes the same files, so its second run copies them from the cache
instead of building UKIs, tarballs and ISOs again. A copy, not a link: each run's output is a
file of its own, with its own modification time (the runner stamps it).

usage: cached_imager.py STANDIN ARGS...
The cache is the directory $SBPIPE_IMAGER_CACHE (the test binary makes one per process and
removes it); without it the model just runs. The model's own tests (ctest model,
test_standin_imager.cpp) run it directly.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile


def option(args, name, default):
    return args[args.index(name) + 1] if name in args[:-1] else default


def key_of(args, keys_dir):
    h = hashlib.sha256()
    words = [a for i, a in enumerate(args) if not (i > 0 and args[i - 1] == "--output")]
    env = sorted((k, v) for k, v in os.environ.items() if k.startswith("STANDIN_"))
    h.update(json.dumps([words, env]).encode())
    if os.path.isdir(keys_dir):
        for name in sorted(os.listdir(keys_dir)):
            path = os.path.join(keys_dir, name)
            if os.path.isfile(path):
                h.update(name.encode() + b"\0")
                with open(path, "rb") as f:
                    h.update(f.read())
    return h.hexdigest()


def copy_all(src, dst):
    for name in os.listdir(src):
        shutil.copyfile(os.path.join(src, name), os.path.join(dst, name))


def main():
    standin, args = sys.argv[1], sys.argv[2:]
    cache = os.environ.get("SBPIPE_IMAGER_CACHE")
    if not cache:
        os.execv(standin, [standin] + args)
    out = option(args, "--output", "/out")
    entry = os.path.join(cache, key_of(args, option(args, "--keys", "/secureboot")))
    if not os.path.isdir(entry):
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            built = os.path.join(tmp, "out")
            os.mkdir(built)
            i = args.index("--output") + 1 if "--output" in args else None
            run_args = list(args)
            if i is None:
                run_args += ["--output", built]
            else:
                run_args[i] = built
            r = subprocess.run([standin] + run_args)
            if r.returncode != 0:
                return r.returncode  # failures are not cached
            os.rename(built, entry)
    copy_all(entry, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

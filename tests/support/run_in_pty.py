#!/usr/bin/env python3
"""Runs a command with its stderr on a pseudo-terminal (stdout stays a pipe),
as a person's terminal would see it; writes every byte the terminal got to
PTY_OUT and exits with the command's status.

    run_in_pty.py PTY_OUT COMMAND [ARG...]
"""
import os
import subprocess
import sys


def main() -> int:
    out_path, argv = sys.argv[1], sys.argv[2:]
    master, slave = os.openpty()
    env = dict(os.environ, TERM="xterm")
    child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stderr=slave, env=env)
    os.close(slave)
    received = bytearray()
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed its side
            break
        if not chunk:
            break
        received += chunk
    os.close(master)
    status = child.wait()
    with open(out_path, "wb") as f:
        f.write(bytes(received))
    return status


if __name__ == "__main__":
    sys.exit(main())

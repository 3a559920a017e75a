#!/usr/bin/env python3
"""Runs a command with stdin and stderr on a pseudo-terminal (stdout stays a
pipe, passed through), as a person at a terminal would: waits for each
PROMPT to appear on the terminal, then types its ANSWER and Enter. Writes
every byte the terminal showed to TRANSCRIPT and exits with the command's
status (1 with a message when a prompt never came within 20 s).

    pty_dialog.py TRANSCRIPT PROMPT ANSWER [PROMPT ANSWER ...] -- COMMAND [ARG...]
"""
import os
import select
import subprocess
import sys
import time


def main() -> int:
    split = sys.argv.index("--")
    transcript_path, pairs, argv = sys.argv[1], sys.argv[2:split], sys.argv[split + 1:]
    dialog = list(zip(pairs[0::2], pairs[1::2]))
    master, slave = os.openpty()
    env = dict(os.environ, TERM="xterm")
    child = subprocess.Popen(argv, stdin=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    shown = bytearray()
    answered = 0
    search_from = 0  # each prompt is looked for after the previous answer
    deadline = time.monotonic() + 20
    status = None
    while True:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed its side
                chunk = b""
            if not chunk:
                break
            shown += chunk
        if answered < len(dialog) and dialog[answered][0].encode() in shown[search_from:]:
            os.write(master, dialog[answered][1].encode() + b"\n")
            answered += 1
            search_from = len(shown)
            deadline = time.monotonic() + 20
        if answered < len(dialog) and time.monotonic() > deadline:
            child.kill()
            child.wait()
            sys.stderr.write(f"pty_dialog: no prompt {dialog[answered][0]!r}; the terminal showed {bytes(shown)!r}\n")
            return 1
        if child.poll() is not None and not ready:
            status = child.returncode
            break
    os.close(master)
    status = child.wait() if status is None else status
    with open(transcript_path, "wb") as f:
        f.write(bytes(shown))
    return status


if __name__ == "__main__":
    sys.exit(main())

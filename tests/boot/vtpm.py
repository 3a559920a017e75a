"""A node's TPM for a firmware boot: Debian's swtpm (0.7, libtpms) as qemu's TPM emulator
backend (qemu docs/specs/tpm.rst: `swtpm socket --tpm2 --ctrl type=unixio,...`, then
`-tpmdev emulator` with that control socket; firmware.boot(tpm_socket=...)).

The TPM's permanent state (its seeds, hence the storage primary key a secret is sealed under)
lives in a directory that outlives the process: one swtpm per boot on the same directory is a
machine whose TPM is powered off and on with it, so every boot starts with PCRs reset by the
firmware's TPM2_Startup(CLEAR). A copy of the directory is the same TPM in another machine's
future (the tests branch one sealed state into several upgrades)."""

import os
import shutil
import subprocess
import time

from tools import stop_process


class MachineTpm:
    """swtpm serving one qemu run; `socket` is its control socket. Stop with stop() (by PID)."""

    def __init__(self, state_dir):
        os.makedirs(state_dir, exist_ok=True)
        self.socket = os.path.join(state_dir, "swtpm.ctrl")
        if os.path.exists(self.socket):
            os.unlink(self.socket)
        self.log = open(os.path.join(state_dir, "swtpm.log"), "wb")
        self.proc = subprocess.Popen(["swtpm", "socket", "--tpm2", "--tpmstate", "dir=" + state_dir, "--ctrl",
                                      "type=unixio,path=" + self.socket, "--terminate"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while not os.path.exists(self.socket):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"swtpm did not start (exit {self.proc.poll()}): see {self.log.name}")
            time.sleep(0.02)

    def stop(self):
        stop_process(self.proc)
        self.log.close()


def copy_state(source, target):
    """The TPM state directory `source` (its swtpm stopped) copied to `target`."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("swtpm.ctrl", "swtpm.log"))
    return target

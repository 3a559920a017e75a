"""Small helpers of the boot tests: commands, keys, a loopback docker-registry, FAT images."""

import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from suite_support import make_owner_keys, stop_process  # noqa: E402,F401  (make_owner_keys: for the boot tests)


# systemd 257's systemd-boot and stub (what Talos ships): Debian 13's systemd-boot-efi, unpacked
# here by scripts/setup (Debian 12 has 252).
SYSTEMD_257_EFI = "/opt/sbpipe/systemd-boot-efi-257/usr/lib/systemd/boot/efi"


def run(*args, check=True, **kw):
    r = subprocess.run([str(a) for a in args], capture_output=True, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{args[0]} failed ({r.returncode}): {r.stderr.decode(errors='replace')[-3000:]}")
    return r


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, seconds=15):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port}")


class Registry:
    """Debian's docker-registry (the CNCF distribution registry) on 127.0.0.1, stopped by PID."""

    def __init__(self, directory):
        os.makedirs(directory, exist_ok=True)
        self.port = free_port()
        config = os.path.join(directory, "config.yml")
        with open(config, "w") as f:
            f.write(f"version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n"
                    f"    rootdirectory: {directory}/data\nhttp:\n  addr: 127.0.0.1:{self.port}\n  secret: boot-test\n")
        self.log = open(os.path.join(directory, "registry.log"), "wb")
        self.proc = subprocess.Popen(["docker-registry", "serve", config], stdout=self.log, stderr=subprocess.STDOUT)
        try:
            wait_port(self.port)
        except AssertionError:
            self.stop()
            raise

    def stop(self):
        stop_process(self.proc)
        self.log.close()


def fat_image(path, files, mib=48):
    """A FAT file system image holding `files` ({path in the image: local file}), made with
    dosfstools and mtools (no partition table: firmware reads a bare FAT disk too)."""
    run("mkfs.vfat", "-C", "-n", "ESP", path, str(mib * 1024))
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    made = set()
    for target in sorted(files):
        parts = target.strip("/").split("/")
        for i in range(1, len(parts)):
            d = "/".join(parts[:i])
            if d not in made:
                run("mmd", "-i", path, "::/" + d, env=env)
                made.add(d)
        run("mcopy", "-i", path, files[target], "::/" + "/".join(parts), env=env)
    return path

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


def sbpipe_run(sbpipe, source, work, tag, version, keys, imager, installer_repository=None, env=None):
    """`sbpipe run --tag version` with the Talos imager model (scripts/standin-imager, line 1.13)
    and a `dir:` target: `imager` is the config's imager section below `image:` (outputs, pxe,
    kernel args), `installer_repository` a plain-HTTP registry repository for the installers,
    `env` more environment for the model. The config, state and published directory are named
    after `tag` under `work`. Returns (CompletedProcess, published directory, state directory)."""
    state, published = os.path.join(work, "state-" + tag), os.path.join(work, "published-" + tag)
    config = os.path.join(work, f"sbpipe-{tag}.yaml")
    model = os.path.join(source, "scripts", "standin-imager")
    registry = f"  installer_repository: {installer_repository}\n  plain_http: true\n" if installer_repository else ""
    with open(config, "w") as f:
        f.write(f"imager:\n  image: ghcr.io/siderolabs/imager:{{version}}\n{imager}run:\n  repo: boot/talos-build\n"
                f"  target: dir:{published}\n  state_dir: {state}\n  keys_dir: {keys}\n"
                f"  imager_command: [{model}, '{{args}}', --keys, '{{keys}}']\n  imager_output: '{{out}}'\n{registry}")
    full_env = dict(os.environ, STANDIN_TALOS="1.13", STANDIN_VERSION=version)
    full_env.update(env or {})  # the caller's values win (a test may build another Talos line)
    r = run(sbpipe, "run", "--tag", version, "--config", config, check=False, env=full_env, timeout=600)
    return r, os.path.join(published, version), state


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

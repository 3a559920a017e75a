"""Small helpers of the boot tests: commands, keys, a loopback docker-registry, FAT images."""

import os
import socket
import subprocess
import time


def run(*args, check=True, **kw):
    r = subprocess.run([str(a) for a in args], capture_output=True, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{args[0]} failed ({r.returncode}): {r.stderr.decode(errors='replace')[-3000:]}")
    return r


def make_owner_keys(d, name="Owner"):
    """The key set a workflow mounts at /secureboot, as `talosctl gen secureboot` writes it
    (PKCS#1 RSA; a 2048-bit UKI key keeps the tests quick), plus the PCR key's public half."""
    os.makedirs(d, exist_ok=True)
    run("openssl", "genrsa", "-traditional", "-out", f"{d}/uki-signing-key.pem", "2048")
    run("openssl", "req", "-x509", "-key", f"{d}/uki-signing-key.pem", "-out", f"{d}/uki-signing-cert.pem", "-days", "30",
        "-subj", "/O=" + name)
    run("openssl", "genrsa", "-traditional", "-out", f"{d}/pcr-signing-key.pem", "2048")
    run("openssl", "rsa", "-in", f"{d}/pcr-signing-key.pem", "-pubout", "-out", f"{d}/pcr-signing-key.pub.pem")


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
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
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

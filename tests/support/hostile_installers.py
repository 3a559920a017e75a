#!/usr/bin/python3
"""Installer tarballs that lie about what a node would unpack (the adversarial review's recipe R4,
findings F1, F2, F12): docker-save tarballs as go-containerregistry writes them, whose layers,
applied as containerd applies OCI layers, leave something other than the signed UKI at
usr/install/amd64/vmlinuz.efi.

Usage: hostile_installers.py OUTDIR SIGNED_UKI SIGNED_SDBOOT UNSIGNED_UKI
Writes: hardlink.tar, symlink_later.tar, hardlink_later.tar, dirsymlink_later.tar,
whiteout_later.tar, opaque_later.tar, good.tar (the control).
"""

import gzip
import hashlib
import io
import json
import sys
import tarfile

out, uki, sdboot, evil = sys.argv[1:5]
UKI, SDBOOT, EVIL = (open(p, "rb").read() for p in (uki, sdboot, evil))
D = "usr/install/amd64/"


def reg(name, data):
    return ("reg", name, data)


def sym(name, target):
    return ("sym", name, target)


def hard(name, target):
    return ("lnk", name, target)


def layer(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for kind, name, value in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 0
            if kind == "reg":
                info.size = len(value)
                t.addfile(info, io.BytesIO(value))
            else:
                info.type = tarfile.SYMTYPE if kind == "sym" else tarfile.LNKTYPE
                info.linkname = value
                t.addfile(info)
    return buf.getvalue()


def image(path, layers):
    tars = [layer(entries) for entries in layers]
    gz = [gzip.compress(t, mtime=0) for t in tars]
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(t).hexdigest() for t in tars]}}).encode()
    chex = hashlib.sha256(config).hexdigest()
    names = [hashlib.sha256(g).hexdigest() + ".tar.gz" for g in gz]
    manifest = json.dumps([{"Config": "sha256:" + chex, "RepoTags": ["x:1"], "Layers": names}]).encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in [("sha256:" + chex, config)] + list(zip(names, gz)) + [("manifest.json", manifest)]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    open(f"{out}/{path}", "wb").write(buf.getvalue())


base = [reg("usr/bin/installer", b"installer")]
good = [reg(D + "systemd-boot.efi", SDBOOT), reg(D + "vmlinuz.efi", UKI)]
image("good.tar", [base, good])
image("hardlink.tar", [base, [reg("evil.efi", EVIL), hard(D + "vmlinuz.efi", "evil.efi"), reg(D + "systemd-boot.efi", SDBOOT)]])
image("symlink_later.tar", [base, good, [reg("evil.efi", EVIL), sym(D + "vmlinuz.efi", "/evil.efi")]])
image("hardlink_later.tar", [base, good, [reg("evil.efi", EVIL), hard(D + "vmlinuz.efi", "evil.efi")]])
image("dirsymlink_later.tar", [base, good, [reg("evil/vmlinuz.efi", EVIL), reg("evil/systemd-boot.efi", SDBOOT),
                                            sym("usr/install/amd64", "../../evil")]])
image("whiteout_later.tar", [base, good, [reg(D + ".wh.vmlinuz.efi", b"")]])
image("opaque_later.tar", [base, good, [reg(D + ".wh..wh..opq", b""), reg(D + "systemd-boot.efi", SDBOOT)]])

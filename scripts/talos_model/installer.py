"""The installer image imager writes (pkg/imager/out.go outInstaller) as go-containerregistry's
tarball.WriteToFile writes it (pkg/v1/tarball/write.go): a docker-save tarball whose members
are the config `sha256:<hex>`, the layers `<compressed hex>.tar.gz`, then `manifest.json`
naming the base installer in RepoTags; members are regular files of mode 0644.

The image is the base installer's first layer (a stand-in root here) plus one artifacts layer
built by pkg/imager/filemap: Go archive/tar, entries sorted by name, no directory entries, no
leading ./, mode 0, gzip-compressed by tarball.LayerFromOpener. The config's block comes from the
base image; architecture/os and rootfs.type per line (lines.Imager.config_platform)."""

import gzip
import hashlib
import io
import json
import random
import tarfile


def _tar(entries, mode):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _layer(tar_bytes):
    """(gzip bytes, compressed hex, diff_id hex)."""
    gz = gzip.compress(tar_bytes, compresslevel=1, mtime=0)
    return gz, hashlib.sha256(gz).hexdigest(), hashlib.sha256(tar_bytes).hexdigest()


def base_layer():
    """The base installer's first layer: a stand-in for its root file system."""
    rng = random.Random(1)
    return _tar([("etc/os-release", b"ID=talos\n"), ("usr/bin/installer", rng.randbytes(1 << 20))], 0o755)


def base_installer_ref(imager, explicit):
    """--base-installer-image, else ghcr.io/siderolabs/installer:<v> before 1.10 and
    installer-base:<v> from 1.10 (SupportsUnifiedInstaller; pkg/imager/profile/input.go)."""
    if explicit:
        return explicit
    name = "installer-base" if imager.sdboot_for_uefi else "installer"
    return f"ghcr.io/siderolabs/{name}:{imager.version}"


def config_json(imager, arch, diff_ids, created):
    history = [{"created": "0001-01-01T00:00:00Z"} for _ in diff_ids]
    block = {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
             "Entrypoint": ["/usr/bin/installer"]}
    kind = imager.config_platform
    config = {"architecture": "" if kind == "none" else arch, "created": created, "history": history,
              "os": "" if kind == "none" else "linux",
              "rootfs": {"type": "" if kind == "no-rootfs-type" else "layers", "diff_ids": ["sha256:" + d for d in diff_ids]},
              "config": block}
    return json.dumps(config, separators=(",", ":")).encode()


def write(out, imager, arch, artifacts, base_ref, created):
    """`artifacts`: {image path: bytes} for the artifacts layer."""
    layers = [_layer(base_layer()), _layer(_tar(sorted(artifacts.items()), 0))]
    config = config_json(imager, arch, [l[2] for l in layers], created)
    config_name = "sha256:" + hashlib.sha256(config).hexdigest()
    manifest = [{"Config": config_name, "RepoTags": [base_ref], "Layers": [l[1] + ".tar.gz" for l in layers]}]
    members = [(config_name, config)] + [(l[1] + ".tar.gz", l[0]) for l in layers]
    members.append(("manifest.json", json.dumps(manifest, separators=(",", ":")).encode()))
    with open(out, "wb") as f:
        f.write(_tar(members, 0o644))

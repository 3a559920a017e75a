#!/usr/bin/python3
"""Installer tarballs whose last layers spell a path the way a hostile layer can (issue 30): names
with "./", "//" and "x/..", writes through a symlinked directory (relative, absolute, made by a
layer before), a PAX path beside a GNU long name, whiteouts spelled through "." and "..", a PAX
global header, a symlink whose size field hides a header, and layers containerd refuses to
apply. Each is a docker-save tarball as go-containerregistry writes it; the layers are written
block by block (POSIX ustar headers, PAX 'x'/'g' records, GNU 'L' names), not by Python's tarfile,
so that every spelling is exactly the one wanted.

Usage: layer_variants.py OUTDIR SIGNED_UKI SIGNED_SDBOOT UNSIGNED_UKI
Writes OUTDIR/<variant>.tar for each variant and OUTDIR/variants.txt (one name per line).
"""

import gzip
import hashlib
import json
import sys

out, uki, sdboot, evil = sys.argv[1:5]
UKI, SDBOOT, EVIL = (open(p, "rb").read() for p in (uki, sdboot, evil))
D = "usr/install/amd64/"


def octal(n, width):
    return ("%0*o" % (width - 1, n)).encode() + b"\0"


def header(name, typeflag, size=0, linkname=""):
    """One ustar header block (POSIX.1-1988: name[100] mode uid gid size mtime chksum typeflag
    linkname[100] magic "ustar\\0" version "00")."""
    b = bytearray(512)
    raw = name.encode()
    assert len(raw) <= 100, name
    b[0:len(raw)] = raw
    b[100:108] = octal(0o755 if typeflag in (b"5", b"2") else 0o644, 8)
    b[108:116] = octal(0, 8)
    b[116:124] = octal(0, 8)
    b[124:136] = octal(size, 12)
    b[136:148] = octal(0, 12)
    b[156:157] = typeflag
    link = linkname.encode()
    b[157:157 + len(link)] = link
    b[257:263] = b"ustar\0"
    b[263:265] = b"00"
    b[148:156] = b" " * 8
    b[148:156] = ("%06o" % sum(b)).encode() + b"\0 "
    return bytes(b)


def padded(data):
    return data + b"\0" * (-len(data) % 512)


def reg(name, data):
    return header(name, b"0", len(data)) + padded(data)


def sym(name, target):
    return header(name, b"2", 0, target)


def lnk(name, target):
    return header(name, b"1", 0, target)


def pax_records(records):
    body = b""
    for key, value in records:
        rec = (" %s=%s\n" % (key, value)).encode()
        n = len(rec) + 1
        while len(str(n)) + len(rec) != n:
            n += 1
        body += str(n).encode() + rec
    return body


def pax(records, typeflag=b"x", name="PaxHeader"):
    body = pax_records(records)
    return header(name, typeflag, len(body)) + padded(body)


def gnu_long_name(name):
    data = name.encode() + b"\0"
    return header("././@LongLink", b"L", len(data)) + padded(data)


def layer(*entries):
    return b"".join(entries) + b"\0" * 1024


def image(name, layers):
    gz = [gzip.compress(t, mtime=0) for t in layers]
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers",
                                    "diff_ids": ["sha256:" + hashlib.sha256(t).hexdigest() for t in layers]}}).encode()
    chex = hashlib.sha256(config).hexdigest()
    names = [hashlib.sha256(g).hexdigest() + ".tar.gz" for g in gz]
    manifest = json.dumps([{"Config": "sha256:" + chex, "RepoTags": ["variant/%s:1" % name.replace("_", "-")],
                            "Layers": names}]).encode()
    members = [("sha256:" + chex, config)] + list(zip(names, gz)) + [("manifest.json", manifest)]
    with open("%s/%s.tar" % (out, name), "wb") as f:
        f.write(b"".join(reg(n, d) for n, d in members) + b"\0" * 1024)


base = layer(reg("usr/bin/installer", b"installer"))
good = layer(reg(D + "systemd-boot.efi", SDBOOT), reg(D + "vmlinuz.efi", UKI))
# The hidden header: a symlink whose size field says 1024 bytes follow; Go's reader (and so
# containerd) gives link entries no data, so the next block is read as a header.
hidden = reg(D + "vmlinuz.efi", EVIL)

variants = {
    "good": [base, good],
    # Names containerd cleans (filepath.Clean) before it looks at them.
    "dot_step": [base, good, layer(reg("usr/install/./amd64/vmlinuz.efi", EVIL))],
    "double_slash": [base, good, layer(reg("usr//install/amd64/vmlinuz.efi", EVIL))],
    "dotdot_step": [base, good, layer(reg("usr/install/x/../amd64/vmlinuz.efi", EVIL))],
    "leading_dotdot": [base, good, layer(reg("../usr/install/amd64/vmlinuz.efi", EVIL))],
    # Writes through a symlinked directory, resolved inside the root (fs.RootPath).
    "through_relative_link": [base, good, layer(sym("s", "usr/install"), reg("s/amd64/vmlinuz.efi", EVIL))],
    "through_absolute_link": [base, good, layer(sym("s", "/usr/install"), reg("s/amd64/vmlinuz.efi", EVIL))],
    "through_dotdot_link": [base, good, layer(sym("deep/s", "../usr/install/amd64"), reg("deep/s/vmlinuz.efi", EVIL))],
    "through_link_of_earlier_layer": [base, good, layer(sym("s", "usr/install/amd64")), layer(reg("s/vmlinuz.efi", EVIL))],
    "through_escaping_link": [base, good, layer(sym("s", "../../../../usr/install/amd64"), reg("s/vmlinuz.efi", EVIL))],
    # A PAX path and a GNU long name for one entry: Go's reader takes the long name, in either order.
    "pax_then_gnu_name": [base, good, layer(pax([("path", D + "harmless.efi")]), gnu_long_name(D + "vmlinuz.efi"),
                                            reg("placeholder", EVIL))],
    "gnu_then_pax_name": [base, good, layer(gnu_long_name(D + "vmlinuz.efi"), pax([("path", D + "harmless.efi")]),
                                            reg("placeholder", EVIL))],
    # Whiteouts spelled through "." and "..", or through a symlinked directory.
    "whiteout_dot": [base, good, layer(reg(D + "./.wh.vmlinuz.efi", b""))],
    "whiteout_dotdot": [base, good, layer(reg("usr/install/x/../amd64/.wh.vmlinuz.efi", b""))],
    "whiteout_through_link": [base, good, layer(sym("w", "usr/install/amd64"), reg("w/.wh.vmlinuz.efi", b""))],
    "opaque_dot": [base, good, layer(reg(D + "./.wh..wh..opq", b""), reg(D + "systemd-boot.efi", SDBOOT))],
    # A PAX global header is an entry to containerd: what is at its path goes.
    "global_header": [base, good, layer(pax([("comment", "x")], b"g", D + "vmlinuz.efi"))],
    # Link and directory entries carry no data, whatever their size field says.
    "link_size_hides_header": [base, good, layer(header(D + "note", b"2", len(hidden), "x") + hidden)],
    # A hardlink through a symlinked directory.
    "hardlink_through_link": [base, good, layer(reg("evil.efi", EVIL), sym("s", "usr/install/amd64"),
                                                lnk("s/vmlinuz.efi", "evil.efi"))],
    # Layers containerd refuses to apply: the image cannot be installed at all.
    "parent_not_a_directory": [base, good, layer(reg(D + "vmlinuz.efi/x", EVIL))],
    "whiteout_leaving_its_directory": [base, good, layer(reg(D + ".wh..", b""))],
    "unknown_type": [base, good, layer(header(D + "vmlinuz.efi", b"Z", 0))],
}
for name, layers in variants.items():
    image(name, layers)
with open("%s/variants.txt" % out, "w") as f:
    f.write("".join(name + "\n" for name in variants))

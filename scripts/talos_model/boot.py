"""What the model boots: Debian's own kernel and a tiny busybox initrd whose /init prints a fixed
marker (with the kernel command line and, when a TPM is present, PCR 11 and PCR 7) to the serial
console and powers off. STANDIN_KERNEL=random gives random bytes of the old stand-in's sizes
instead (for the size benchmarks; those images do not boot)."""

import glob
import lzma
import os
import random
import struct

from . import node_tpm, pe

MARKER = "SBPIPE-MODEL-BOOTED"
BUSYBOX = "/bin/busybox"

INIT = """#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null
say() {{
  for out in /dev/ttyS0 /dev/console; do [ -c "$out" ] && echo "$1" > "$out" 2>/dev/null; done
}}
pcr() {{
  f=/sys/class/tpm/tpm0/pcr-sha256/$1
  [ -r "$f" ] && /bin/busybox cat "$f" || echo none
}}
say "{marker} version={version} cmdline=[$(/bin/busybox cat /proc/cmdline)]"
say "{marker}-PCR11 $(pcr 11)"
say "{marker}-PCR7 $(pcr 7)"
[ -x /bin/sbpipe-node ] && /bin/busybox sh /bin/sbpipe-node
say "{marker}-END"
/bin/busybox poweroff -f
"""


def _newest_kernel():
    kernels = sorted(glob.glob("/boot/vmlinuz-*"))
    if not kernels:
        raise SystemExit("standin-imager: no /boot/vmlinuz-* (install linux-image-amd64, or set STANDIN_KERNEL=random)")
    return kernels[-1]


def debian_kernel():
    """The newest /boot/vmlinuz-* (linux-image-amd64), without Debian's signature."""
    with open(_newest_kernel(), "rb") as f:
        return pe.strip_signature(f.read())


def kernel_version(kernel):
    """DiscoverKernelVersion (internal/pkg/uki/kernel.go): the first word of the bzImage
    kernel_version string; None when the image has no setup header."""
    if len(kernel) < 0x210 or kernel[0x202:0x206] != b"HdrS":
        return None
    setup_sects = kernel[0x1F1]
    offset = struct.unpack_from("<H", kernel, 0x20E)[0]
    if offset == 0 or offset > setup_sects * 0x200:
        return None
    raw = kernel[offset + 0x200:offset + 0x200 + 256]
    end = raw.find(b"\0")
    return raw[:end].decode(errors="replace").split(" ")[0] if end >= 0 else None


def _cpio_newc(entries):
    """A cpio "newc" archive: entries (name, mode, data)."""
    out = bytearray()
    for ino, (name, mode, data) in enumerate(entries + [("TRAILER!!!", 0, b"")], start=1):
        encoded = name.encode() + b"\0"
        fields = [0x070701, ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(encoded), 0]
        out += b"070701" + "".join(f"{f:08X}" for f in fields[1:]).encode() + encoded
        out += bytes((4 - len(out) % 4) % 4) + data
        out += bytes((4 - len(out) % 4) % 4)
    return bytes(out)


def initramfs(version, extensions):
    """initramfs.xz: busybox, /init, and the extension list (so another extension set makes
    another initrd, as imager's rebuild does)."""
    with open(BUSYBOX, "rb") as f:
        busybox = f.read()
    entries = [
        ("bin", 0o040755, b""),
        ("bin/busybox", 0o100755, busybox),
        ("init", 0o100755, INIT.format(marker=MARKER, version=version).encode()),
        ("etc", 0o040755, b""),
        ("etc/extensions", 0o100644, "".join(e + "\n" for e in extensions).encode()),
    ]
    if node_tpm.enabled():
        entries += node_tpm.entries(os.path.basename(_newest_kernel())[len("vmlinuz-"):])
    # The kernel's xz decoder takes the CRC32 check only (Documentation/staging/xz.rst).
    return lzma.compress(_cpio_newc(entries), format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32, preset=0)


def payload(version, arch, extensions):
    """(kernel bytes, initramfs.xz bytes). arm64 gets random bytes: Debian's amd64 machines have
    no arm64 kernel."""
    if os.environ.get("STANDIN_KERNEL", "debian") == "random" or arch != "amd64":
        rng = random.Random()
        mib = int(os.environ.get("STANDIN_INITRD_MIB", "3"))
        return rng.randbytes(2 << 20), rng.randbytes(mib << 20)
    return debian_kernel(), initramfs(version, extensions)

"""ISO images as imager writes them (pkg/imager/iso/{uefi,grub,hybrid,iso}.go).

SecureBoot and sd-boot ISOs (CreateUEFI, 1.8.3+): a scratch tree with EFI/BOOT/BOOT<ARCH>.EFI
(systemd-boot), EFI/Linux/Talos-<version>.efi (the UKI), EFI/keys/uki-signing-cert.der,
loader/loader.conf and loader/keys/auto/{PK,KEK,db}.auth; the same EFI/ and loader/ copied with
mcopy into efiboot.img (mkfs.vfat -F 32 -n EFI --invariant, 10 MiB + the two binaries rounded up
to MiB); then xorrisofs with that image as appended partition 2 (type 0xef) which is also the El
Torito UEFI no-emulation boot image, and the tree (minus efiboot.img) as the ISO 9660 root.
1.8.0-1.8.2 (v1.8.0 uefi.go) wrote everything only into efiboot.img, the one file of the tree.

Plain ISOs: GRUB (CreateGRUB: boot/vmlinuz, boot/initramfs.xz, boot/grub/grub.cfg holding the
cmdline), hybrid (CreateHybrid: GRUB's files plus the unsigned sd-boot tree and its appended
ESP) or sd-boot only (arm64 from 1.12). imager makes GRUB ISOs with grub-mkrescue, which adds
GRUB's own EFI and BIOS boot images; the model writes the same tree with xorrisofs and no GRUB
binaries, so its GRUB-only ISOs boot nothing.
"""

import os
import subprocess

from . import lines

MIB = 1 << 20


def _run(args, **kw):
    r = subprocess.run(args, capture_output=True, **kw)
    if r.returncode != 0:
        raise SystemExit(f"standin-imager: {args[0]} failed: {r.stderr.decode(errors='replace')}")


def _write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def volume_id(label):
    """iso.VolumeID: upper case, [A-Z0-9_] with - and . as _, at most 32 characters."""
    out = "".join("_" if c in "_-." else c for c in label.upper() if c.isalnum() or c in "_-.")
    return out[:32]


def loader_conf(enroll):
    """pkg/imager/iso/loader.conf.tmpl."""
    return f"# systemd-boot configuration\n\ntimeout 10\n\nsecure-boot-enroll {enroll}\n".encode()


def grub_cfg(cmdline):
    """pkg/imager/iso/grub.cfg with grub.Quote applied to the cmdline (and the reset entry, 1.4+)."""
    for c in '\\{}&$|;<>"':
        cmdline = cmdline.replace(c, "\\" + c)
    entry = ("menuentry \"{title}\" {{\n\tset gfxmode=auto\n\tset gfxpayload=text\n"
             "\tlinux /boot/vmlinuz {args}\n\tinitrd /boot/initramfs.xz\n}}\n")
    return ("set default=0\nset timeout=3\n\ninsmod all_video\n\nterminal_input console\nterminal_output console\n\n" +
            entry.format(title="Talos ISO", args=cmdline) + "\n" +
            entry.format(title="Reset Talos installation", args=cmdline + " talos.experimental.wipe=system")).encode()


RANDOM_SEED = "loader/random-seed"


def uefi_tree(tree, arch, version, sdboot, uki, enroll, cert_der=None, auth=None, random_seed=False):
    boot = "BOOTAA64.EFI" if arch == "arm64" else "BOOTX64.EFI"
    _write(os.path.join(tree, "EFI/BOOT", boot), sdboot)
    _write(os.path.join(tree, "EFI/Linux", f"Talos-{version}.efi"), uki)
    _write(os.path.join(tree, "loader/loader.conf"), loader_conf(enroll))
    if random_seed:  # 1.14: a zero placeholder, read-only, so systemd-boot 261 never writes one
        _write(os.path.join(tree, RANDOM_SEED), bytes(32))
        os.chmod(os.path.join(tree, RANDOM_SEED), 0o444)
    if cert_der is not None:
        _write(os.path.join(tree, "EFI/keys/uki-signing-cert.der"), cert_der)
    for name, data in (auth or {}).items():
        _write(os.path.join(tree, "loader/keys/auto", name), data)


def sectors_per_cluster(size):
    """fatSectorsPerCluster (1.14, pkg/imager/iso/uefi.go): the largest power of two up to 8
    sectors that keeps the cluster count at or above the FAT32 floor plus 2048."""
    sectors, spc = size // 512, 1
    while spc * 2 <= 8 and sectors // (spc * 2) >= 65525 + 2048:
        spc *= 2
    return spc


def esp_image(tree, sizes, path, clusters=False):
    # Talos's size; with the model's small payload that would be a FAT32 below its minimum cluster
    # count (65525), which mtools and firmware read as another FAT type, so the model pads to 34 MiB.
    # The cluster size (1.14) follows Talos's size, not the padding.
    talos_size = 10 * MIB + sum((s + MIB - 1) // MIB * MIB for s in sizes)
    size = max(talos_size, 34 * MIB)
    with open(path, "wb") as f:
        f.truncate(size)
    spc = ["-s", str(sectors_per_cluster(talos_size))] if clusters else []
    _run(["mkfs.vfat", "-F", "32", "-n", "EFI", "--invariant"] + spc + [path])
    _run(["mcopy", "-s", "-p", "-Q", "-m", "-i", path] +
         [os.path.join(tree, d) for d in ("EFI", "loader") if os.path.isdir(os.path.join(tree, d))] + ["::"])
    if os.path.exists(os.path.join(tree, RANDOM_SEED)):
        _run(["mattrib", "-i", path, "+r", "::/" + RANDOM_SEED])


def _xorriso(version, args):
    label = "Talos-" + version
    extra = []
    if lines.parse_version(version) is None or lines.parse_version(version) >= (1, 8, 0):  # SupportsISOLabel
        extra = ["-volid", volume_id(label), "-volset-id", label]
    _run(["xorrisofs"] + args + ["--"] + extra)


def write_uefi(out, tree, version, sizes, clusters=False):
    """The ISO of CreateUEFI (and the sd-boot half of CreateHybrid): the tree as ISO 9660, and
    efiboot.img appended as partition 2 and named the El Torito UEFI image."""
    efiboot = os.path.join(tree, "efiboot.img")
    esp_image(tree, sizes, efiboot, clusters)
    _xorriso(version, ["-e", "--interval:appended_partition_2:all::", "-append_partition", "2", "0xef", efiboot,
                       "-partition_cyl_align", "all", "-partition_offset", "16", "-iso_mbr_part_type", "0x83",
                       "-no-emul-boot", "-m", "efiboot.img", "-iso-level", "3", "-o", out, tree])


def write_uefi_180(out, tree, version, sizes, scratch):
    """1.8.0-1.8.2: the EFI files only inside efiboot.img, which is the tree's one file and the El
    Torito image (v1.8.0 pkg/imager/iso/uefi.go)."""
    iso_root = os.path.join(scratch, "iso-root")
    os.makedirs(iso_root)
    esp_image(tree, sizes, os.path.join(iso_root, "efiboot.img"))
    _xorriso(version, ["-e", "efiboot.img", "-no-emul-boot", "-iso-level", "3", "-o", out, iso_root])


def write_grub(out, tree, version, kernel, initramfs, cmdline):
    _write(os.path.join(tree, "boot/vmlinuz"), kernel)
    _write(os.path.join(tree, "boot/initramfs.xz"), initramfs)
    _write(os.path.join(tree, "boot/grub/grub.cfg"), grub_cfg(cmdline))
    if out is not None:
        _xorriso(version, ["-iso-level", "3", "-o", out, tree])



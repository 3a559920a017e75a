"""UEFI SecureBoot firmware as a judge: Debian's OVMF (EDK2 edk2-stable202211, package ovmf
2022.11) under qemu, booting EFI system partitions and ISO images.

Each boot gets a private copy of a vars file (the firmware's NVRAM: PK, KEK, db), its serial
console in a file, and a deadline; qemu is stopped by its PID when the console says the verdict
is in, when the deadline passes, or when the caller is done. OVMF's SecureBoot build needs SMM
and a secure pflash (OvmfPkg/README, "SMM support": -machine q35,smm=on and
-global driver=cfi.pflash01,property=secure,value=on; S3 off with ICH9-LPC.disable_s3=1).

KVM is used when /dev/kvm exists and KVM offers SMM (qemu refuses smm=on otherwise), else TCG;
`accelerator()` says which and why, and the tests print it.
"""

import ctypes
import enum
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

import serial

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from suite_support import stop_process  # noqa: E402  (qemu stopped by its PID: SIGTERM, then SIGKILL)

OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"  # no PK: the firmware starts in setup mode
QEMU = "qemu-system-x86_64"

_accel = None


def accelerator():
    """("kvm" or "tcg", why): KVM when it can run this machine with SMM, probed once."""
    global _accel
    if _accel is None:
        if not os.access("/dev/kvm", os.R_OK | os.W_OK):
            _accel = ("tcg", "no usable /dev/kvm")
        else:
            probe = subprocess.run([QEMU, "-machine", "q35,smm=on,accel=kvm", "-nodefaults", "-display", "none", "-S",
                                    "-monitor", "stdio"], input=b"quit\n", capture_output=True, timeout=60)
            if probe.returncode == 0:
                _accel = ("kvm", "/dev/kvm offers SMM")
            else:
                reason = probe.stderr.decode(errors="replace").strip().splitlines()
                _accel = ("tcg", "KVM cannot run smm=on: " + (reason[-1] if reason else f"qemu exit {probe.returncode}"))
    return _accel


class SecureBoot(enum.Enum):
    """Whether a boot must run with SecureBoot enforcing (the kernel says so) or runs without."""

    required = "required"
    off = "off"


@dataclass
class Medium:
    """A boot medium: an EFI system partition (a directory served as qemu's read-only `fat:`
    drive, or a FAT image file) on its own virtio disk, a disk image the machine may write, an
    ISO image on the SATA CD drive, or a virtio NIC on qemu's user-mode network whose DHCP
    names `bootfile` and whose TFTP server serves `path` (OVMF's own PXE driver: the NIC gets no
    option ROM; `restrict=on`, so the guest reaches nothing but qemu's DHCP and TFTP)."""

    kind: str  # "esp-dir", "esp-image", "disk", "cdrom", "net"
    path: str
    label: str = ""
    bootfile: str = ""

    @staticmethod
    def esp_dir(path, label=""):
        return Medium("esp-dir", path, label or os.path.basename(path))

    @staticmethod
    def esp_image(path, label=""):
        return Medium("esp-image", path, label or os.path.basename(path))

    @staticmethod
    def cdrom(path, label=""):
        return Medium("cdrom", path, label or os.path.basename(path))

    @staticmethod
    def disk(path, label=""):
        return Medium("disk", path, label or os.path.basename(path))

    @staticmethod
    def network(tftp_dir, bootfile, label=""):
        return Medium("net", tftp_dir, label or bootfile, bootfile)


def _devices(media):
    """qemu arguments for `media` in boot order, and the device path OVMF gives each: virtio
    disks and NICs on PCI slots 3.. (eight functions a slot), the CD on the q35 AHCI port 0."""
    args, paths = [], []
    disk = 0
    for index, medium in enumerate(media):
        drive = f"m{index}"
        if medium.kind == "cdrom":
            args += ["-drive", f"file={medium.path},format=raw,if=none,media=cdrom,readonly=on,id={drive}",
                     "-device", f"ide-cd,drive={drive},bus=ide.0,bootindex={index + 1}"]
            paths.append("PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x0,0xFFFF,0x0)")
            continue
        slot, function = 3 + disk // 8, disk % 8
        disk += 1
        paths.append(f"PciRoot(0x0)/Pci({slot:#X},{function:#X})".replace("0X", "0x"))
        where = f"bootindex={index + 1},addr={slot:#x}.{function}" + (",multifunction=on" if function == 0 else "")
        if medium.kind == "net":
            args += ["-netdev", f"user,id={drive},ipv6=off,restrict=on,tftp={medium.path},bootfile={medium.bootfile}",
                     "-device", f"virtio-net-pci,netdev={drive},romfile=,{where}"]
            continue
        source = f"fat:{medium.path}" if medium.kind == "esp-dir" else medium.path
        access = "" if medium.kind == "disk" else ",readonly=on"
        args += ["-drive", f"file={source},format=raw,if=none{access},id={drive}",
                 "-device", f"virtio-blk-pci,drive={drive},{where}"]
    return args, paths


@dataclass
class Boot:
    """One machine run: the console lines, each medium's Outcome, how it ended and how long."""

    lines: list
    outcomes: dict  # Medium label -> serial.Outcome
    ended: str  # "powered off", "reset", "verdict", "stopped", "deadline"
    seconds: float
    log: str


def boot(media, vars_file, log, deadline=240, memory_mib=512, stop_when=None, tpm_socket=None, fw_cfg=None,
         secure_boot=SecureBoot.required):
    """Boots `media` (in that order) with the firmware NVRAM `vars_file` (used in place: pass a
    private copy), serial console to `log`. Returns a Boot once qemu has exited or been stopped:
    when the model powered off, when the boot manager found nothing left to boot, on a reset
    (qemu runs with -no-reboot: systemd-boot resets after enrolling keys), or at `deadline`
    seconds, or when `stop_when(lines)` says so. Boot.ended says which.

    `tpm_socket`: the control socket of a running `swtpm socket` (vtpm.py), given to the machine
    as a TPM 2.0 on the TIS interface. `fw_cfg`: {name: file} handed to the guest through
    qemu's fw_cfg. `secure_boot`: whether a medium's boot must have the kernel say "Secure boot
    enabled" (SecureBoot.required) or may run without it (SecureBoot.off)."""
    accel, _ = accelerator()
    devices, paths = _devices(media)
    if tpm_socket:
        devices += ["-chardev", f"socket,id=tpmchar,path={tpm_socket}", "-tpmdev", "emulator,id=tpm0,chardev=tpmchar",
                    "-device", "tpm-tis,tpmdev=tpm0"]
    for name, path in (fw_cfg or {}).items():
        devices += ["-fw_cfg", f"name={name},file={path}"]
    argv = [QEMU, "-machine", f"q35,smm=on,accel={accel}", "-global", "driver=cfi.pflash01,property=secure,value=on",
            "-global", "ICH9-LPC.disable_s3=1", "-m", str(memory_mib), "-nodefaults", "-display", "none",
            "-monitor", "none", "-no-reboot", "-serial", f"file:{log}",
            "-drive", f"if=pflash,format=raw,unit=0,file={OVMF_CODE},readonly=on",
            "-drive", f"if=pflash,format=raw,unit=1,file={vars_file}"] + devices
    start = time.monotonic()
    with open(log + ".qemu", "wb") as qemu_log:
        proc = subprocess.Popen(argv, stdout=qemu_log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
    ended = None
    lines = []
    try:
        while ended is None:
            code = proc.poll()
            lines = _read(log)
            if code is not None:
                ended = "powered off" if any(l.startswith(serial.MARKER + "-END") for l in lines) else "reset"
                if code != 0:
                    raise RuntimeError(f"qemu exited {code}: {open(log + '.qemu', errors='replace').read()[-2000:]}")
            elif serial.finished(lines) and not any(l.startswith(serial.MARKER + "-END") for l in lines):
                ended = "verdict"
            elif stop_when and stop_when(lines):
                ended = "stopped"
            elif time.monotonic() - start > deadline:
                ended = "deadline"
            else:
                time.sleep(0.2)
    finally:
        stop_process(proc)
    lines = _read(log)
    outcomes = serial.read_outcomes(lines, paths, secure_boot is SecureBoot.required)
    by_label = {medium.label: outcomes[path] for medium, path in zip(media, paths)}
    return Boot(lines, by_label, ended, time.monotonic() - start, log)


def _die_with_parent():
    """In the child, before exec: SIGKILL when the thread that started it ends (prctl
    PR_SET_PDEATHSIG), so a test killed at its timeout leaves no qemu behind."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG = 1


def _read(log):
    try:
        with open(log, "rb") as f:
            return serial.clean_lines(f.read())
    except FileNotFoundError:
        return []


def fresh_vars(path):
    """A private copy of OVMF's empty NVRAM (setup mode: no PK, SecureBoot off)."""
    shutil.copyfile(OVMF_VARS, path)
    return path

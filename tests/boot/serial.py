"""What a firmware boot said on its serial console, read as verdicts per boot medium.

The lines come from three programs, each quoted from what it prints (and checked against Debian
12's builds on this machine: ovmf 2022.11, systemd-boot-efi 252, linux 6.1):

- OVMF's boot manager, BdsDxe (edk2-stable202211 OvmfPkg/Library/PlatformBmPrintScLib/
  StatusCodeHandler.c HandleStatusCode prints each LoadImage/StartImage of a boot option and its
  failure status; OvmfPkg/Library/PlatformBootManagerLib/BdsPlatform.c the last line):
    BdsDxe: loading Boot0002 "UEFI Misc Device" from PciRoot(0x0)/Pci(0x3,0x0)
    BdsDxe: failed to load Boot0002 "..." from PciRoot(0x0)/Pci(0x3,0x0): Access Denied
    BdsDxe: starting Boot0002 "..." from PciRoot(0x0)/Pci(0x3,0x0)
    BdsDxe: failed to start Boot0002 "..." from ...: Access Denied
    BdsDxe: No bootable option or device was found.
  "failed to load ... Access Denied" (or "Security Violation") is the firmware refusing the image:
  gBS->LoadImage returned what DxeImageVerificationHandler decided (SecurityPkg/Library/
  DxeImageVerificationLib/DxeImageVerificationLib.c).
- systemd-boot 252 (src/boot/efi/boot.c image_start): "Error loading \\EFI\\Linux\\X.efi: Access
  Denied" when the firmware's LoadImage refuses the UKI it was asked to start.
- The kernel: "secureboot: Secure boot enabled" (arch/x86/kernel/setup.c) and the Talos model's
  initrd: "SBPIPE-MODEL-BOOTED version=... cmdline=[...]" then "SBPIPE-MODEL-BOOTED-END".
"""

import re
from dataclasses import dataclass, field

MARKER = "SBPIPE-MODEL-BOOTED"
SECURE_BOOT_LINE = "secureboot: Secure boot enabled"
REFUSALS = ("Access Denied", "Security Violation")

_ANSI = re.compile(r"\x1b\[[0-9;=?]*[A-Za-z]")
_BDS = re.compile(r'BdsDxe: (loading|starting|failed to load|failed to start) (Boot[0-9A-F]{4}) "[^"]*" from (\S+?)(?:: (.*))?$')
_SDBOOT_ERROR = re.compile(r"Error loading (\\\S+): (.*)$")


def clean_lines(raw):
    """The console text as lines, without ANSI escapes and carriage returns."""
    text = _ANSI.sub("", raw.decode("utf-8", errors="replace"))
    return [line.strip() for line in text.replace("\r", "\n").split("\n") if line.strip()]


@dataclass
class Outcome:
    """The firmware's answer for one medium: boots, refused, error or untried.

    boots: the firmware started it, the kernel said "Secure boot enabled" and the model's marker
    came. refused: the firmware's "Access Denied"/"Security Violation" for the medium's own boot
    image. error: started but no marker (what it said is in `detail`). untried: the boot manager
    never got to it. `inner_refusals` lists the files systemd-boot could not load because the
    firmware refused them (chained images)."""

    verdict: str = "untried"
    started: bool = False
    detail: str = ""
    secure_boot: bool = False
    marker: str = ""
    inner_refusals: list = field(default_factory=list)


def _pci(device_path):
    """The PCI (and SATA) nodes of a device path: what tells two media apart."""
    return "/".join(node for node in device_path.split("/") if node.startswith(("Pci(", "Sata(")))


def read_outcomes(lines, media_paths, require_secure_boot=True):
    """{medium device path: Outcome} for `media_paths` (each "PciRoot(0x0)/Pci(0x3,0x1)" or with
    a Sata node), from the console `lines` of one boot. With `require_secure_boot` False, a boot
    that reached the marker without the kernel's "Secure boot enabled" is `boots` too (firmware
    in setup mode: plain network boot)."""
    outcomes = {path: Outcome() for path in media_paths}
    by_pci = {_pci(path): path for path in media_paths}
    current = None  # the medium whose image is running
    for line in lines:
        bds = _BDS.search(line)
        if bds:
            action, _, device, status = bds.groups()
            medium = by_pci.get(_pci(device))
            outcome = outcomes.get(medium)
            if action == "starting":
                current = medium
                if outcome:
                    outcome.started = True
                    outcome.verdict, outcome.detail = "error", line
            elif action == "failed to load" and outcome:
                refused = any(r in (status or "") for r in REFUSALS)
                outcome.verdict, outcome.detail = ("refused" if refused else "error"), line
                current = None
            elif action == "failed to start":
                if outcome and outcome.verdict != "boots":
                    outcome.detail = line
                current = None
            continue
        outcome = outcomes.get(current)
        if outcome is None:
            continue
        sd = _SDBOOT_ERROR.search(line)
        if sd and any(r in sd.group(2) for r in REFUSALS):
            outcome.inner_refusals.append(sd.group(1))
            outcome.detail = line
        elif SECURE_BOOT_LINE in line:
            outcome.secure_boot = True
        elif line.startswith(MARKER + " ") and not outcome.marker:
            outcome.marker = line
        elif line.startswith(MARKER + "-END") and outcome.marker:
            if outcome.secure_boot or not require_secure_boot:
                outcome.verdict, outcome.detail = "boots", outcome.marker
            else:
                outcome.verdict, outcome.detail = "error", "booted, but the kernel did not say 'Secure boot enabled'"
    return outcomes


def sd_boot_refusal(line):
    """True for systemd-boot's line saying the firmware refused an image it was asked to start."""
    found = _SDBOOT_ERROR.search(line)
    return bool(found) and any(r in found.group(2) for r in REFUSALS)


def finished(lines):
    """True when nothing more will happen to the media: the model powered off, the boot manager
    gave up, or it went on to the firmware's built-in UEFI shell (a boot option from the
    firmware volume, "from Fv(...)", which BdsDxe tries after every disk; the shell then waits
    for keys)."""
    return any(line.startswith(MARKER + "-END") or "No bootable option or device was found" in line or
               (line.startswith("BdsDxe: loading ") and '" from Fv(' in line) for line in lines)
